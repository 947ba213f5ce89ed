"""Write the benchmark's results: bench.json (raw), bench.md (tables) and bench.png (chart).

    python tests/bench/report.py docs/reports/bench.json   # rewrite bench.md and bench.png

bench.md is included into the documentation's performance page (docs/performance.md), so its
links are relative to docs/, where that page is.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ENDPOINTS = {
    "get": "get by id",
    "list": "list (50, nested)",
    "create": "create",
}
LINK_BASE = "reports/"  # from docs/performance.md to this directory


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _ms(value: float) -> str:
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _statements(found: dict[str, Any]) -> str:
    text = str(found["statements"])
    text += f" (budget {found['budget']})" if found.get("budget") is not None else " (no budget)"
    if found.get("pings"):
        text += f" + {found['pings']} pre-ping"
    if found.get("round_trips") is not None:
        text += f"; {found['round_trips']} round trips"
    return text


def _cores(cpus: list[int] | None) -> str:
    return "unpinned" if not cpus else "CPU " + ", ".join(map(str, cpus))


def _versions(results: dict[str, Any]) -> str:
    found: dict[str, str] = {}
    for combination in results["combinations"]:
        found |= combination["versions"]
    return ", ".join(f"{name} {version}" for name, version in found.items())


def markdown(results: dict[str, Any]) -> str:
    machine, generator, method = results["machine"], results["load_generator"], results["method"]
    combinations = results["combinations"]
    goal = method["ratio_goal"]
    lines = [
        f"Measured on {results['date']} by `uvx nox -s bench` ({results['seconds'] / 60:.1f} minutes), on"
        f" {machine['cores']} cores ({machine['cpu']}) with Python {machine['python']}.",
        "",
        "- **Service**: the generated project, under uvicorn with one worker and no access log"
        f" ({_cores(results['server']['cpu'])}).",
        "- **Baseline**: a Starlette app on the same uvicorn, database and rows that runs the same SQL"
        " statements with the raw driver and builds its JSON with `json.dumps`"
        f" ({_cores(results['server']['cpu'])}).",
        f"- **Load**: {generator['name']}, {generator['threads']} thread, {generator['connections']}"
        f" connections ({_cores(generator['cpu'])}); get by id picks random ids, create sends a new name"
        " each time.",
        f"- **Data**: {method['products']:,} products, each with one of 20 categories and two of 50 tags;"
        f" list reads {method['page']} of them.",
        f"- **Runs**: {method['warmup_seconds']:g} s of warm-up each, then {method['slices']} runs of"
        f" {method['slice_seconds']:g} s each, alternating between the two figures compared"
        " (service and baseline; or the two sizes), so that other load on the machine hits both alike."
        f" The single-table read takes {method.get('paired_slices', method['slices'])} runs a side,"
        " and its service / textbook and service / default pool are the median of the ratios of the"
        " runs made in turn (the first of each side, the second, ...): a burst of other load during"
        " one run moves one of those ratios, not the median.",
        "- **Textbook app**: the pattern most FastAPI + SQLAlchemy tutorials teach, for the single-table"
        " read (get tag by id): `session.get` in the route, a yield session dependency, `response_model`,"
        " SQLAlchemy's default pool (tests/bench/textbook_*.py), on the same uvicorn and database.",
        f"- **Ratio**: the service's requests per second over its baseline's. The goal for every endpoint"
        f" is {goal:g} or better.",
        f"- **Versions**: {_versions(results)}.",
        "",
        "### The service against its raw-driver baseline",
        "",
        "| Combination | Endpoint | rps | p50 ms | p99 ms | baseline rps | baseline p50 ms"
        " | baseline p99 ms | ratio | server CPU ms per request (service / baseline)"
        " | SQL statements per request |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for combination in combinations:
        for endpoint, label in ENDPOINTS.items():
            found = combination["endpoints"][endpoint]
            service, baseline = found["service"], found["baseline"]
            ratio = f"{found['ratio']:.2f}"
            if found["ratio"] < goal:
                ratio = f"**{ratio}**"
            cpu = f"{service['server_cpu_ms_per_request']:.2f} / {baseline['server_cpu_ms_per_request']:.2f}"
            lines.append(
                f"| {combination['label']} | {label} | {_number(service['rps'])} | {_ms(service['p50_ms'])}"
                f" | {_ms(service['p99_ms'])} | {_number(baseline['rps'])} | {_ms(baseline['p50_ms'])}"
                f" | {_ms(baseline['p99_ms'])} | {ratio} | {cpu} | {_statements(found)} |"
            )
    lines += [
        "",
        "Ratios below the goal are in bold. Server CPU per request is the uvicorn"
        " process's CPU time over the requests it answered (the database's own CPU is not in it), a"
        " figure that other load on the machine disturbs less than requests per second.",
        "",
        "SQL statements are counted in a separate pass, the way the generated project's"
        " `tests/test_query_budget.py` counts them (SQLAlchemy's `before_cursor_execute`), and the"
        " session fails if one is over that test's budget. Besides its"
        " statements, a service with `DATABASE_POOL_PRE_PING` on checks the connection it takes from"
        " the pool (counted apart), and a write ends its transaction; the baseline runs the same"
        " statements and nothing else. On PostgreSQL the same pass counts round trips (a relay in"
        " front of the server, tests/bench/relay.py): statements, pre-pings, BEGIN and COMMIT alike.",
        "",
    ]
    over = [f"{c['label']} {problem}" for c in combinations for problem in c["over_budget"]]
    if over:
        lines += ["**Over the query budget** (the session failed): " + "; ".join(over) + ".", ""]

    with_textbook = [c for c in combinations if c.get("single_table")]
    if with_textbook:
        lines += [
            "### The single-table read: the service, the textbook app, the raw driver",
            "",
            "Get tag by id (one row of one table, no relations), the three measured side by side.",
            "",
            "| Combination | service rps | textbook rps | baseline rps | service / baseline"
            " | textbook / baseline | service / textbook | server CPU ms per request (service / textbook"
            " / baseline) | round trips (service / textbook) | trips to a thread (service / textbook) |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for combination in with_textbook:
            found = combination["single_table"]
            sides = [found[side] for side in ("service", "textbook", "baseline")]
            cpu = " / ".join(f"{side['server_cpu_ms_per_request']:.2f}" for side in sides)
            over = f"{found['over_textbook']:.2f}"
            trips = "-"
            if found.get("round_trips") is not None:
                trips = f"{found['round_trips']} / {found['textbook_round_trips']}"
            threads = "-"
            if found.get("thread_trips") is not None:
                threads = f"{found['thread_trips']} / {found['textbook_thread_trips']}"
            if found["over_textbook"] <= 1:
                over = f"**{over}**"
            lines.append(
                f"| {combination['label']} | "
                + " | ".join(_number(side["rps"]) for side in sides)
                + f" | {found['ratio']:.2f} | {found['textbook_ratio']:.2f} | {over} | {cpu}"
                + f" | {trips} | {threads} |"
            )
        lines += [
            "",
            "A service not ahead of the textbook app (service / textbook 1 or less) is bold. Trips to a"
            " thread are counted in the same pass as the statements: each is a handoff to another thread"
            " and back (a sync route, dependency or response validation in the threadpool; each call of"
            " aiosqlite, which runs in its connection's own thread), and costs CPU on both sides.",
            "",
        ]
        with_pool = [c for c in with_textbook if "default pool" in c["single_table"]]
        if with_pool:
            lines += [
                "The same read, in the same comparison, from the service with SQLAlchemy's default pool"
                " (5 connections kept and up to 10 more under load), which the template had before its"
                f" own (see the project's `config.py`). Under the load generator's {generator['connections']}"
                " connections the default pool closes each connection beyond its 5 as soon as it is"
                " back, and opens another for the next burst.",
                "",
                "| Combination | service rps | default pool rps | service / default pool"
                " | server CPU ms per request (service / default pool) |",
                "| --- | ---: | ---: | ---: | ---: |",
            ]
            for combination in with_pool:
                found = combination["single_table"]
                sides = [found["service"], found["default pool"]]
                cpu = " / ".join(f"{side['server_cpu_ms_per_request']:.2f}" for side in sides)
                lines.append(
                    f"| {combination['label']} | "
                    + " | ".join(_number(side["rps"]) for side in sides)
                    + f" | {found['over_default_pool']:.2f} | {cpu} |"
                )
            lines.append("")

    with_workers = [c for c in combinations if c.get("workers")]
    if with_workers:
        many = f"{method['workers']} workers"
        lines += [
            f"### One worker and {many}",
            "",
            f"Get by id from the service with one uvicorn worker (pinned like the others) and with {many}"
            " (where the system puts them: on this machine they share its cores with wrk and the"
            " database), side by side.",
            "",
            f"| Combination | 1 worker rps | p50 ms | {many} rps | p50 ms | gain |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for combination in with_workers:
            one, more = combination["workers"].values()
            lines.append(
                f"| {combination['label']} | {_number(one['rps'])} | {_ms(one['p50_ms'])}"
                f" | {_number(more['rps'])} | {_ms(more['p50_ms'])} | x {more['rps'] / one['rps']:.2f} |"
            )
        lines.append("")

    profiled = [c for c in combinations if c.get("profile")]
    if profiled:
        lines += [
            f"### Where the time goes in get by id (ratio under {goal:g})",
            "",
            f"pyinstrument over {method['profile_requests']:,} get-by-id requests made in-process to the"
            " ASGI app, without uvicorn's HTTP parsing (which the baseline pays for too); a sync"
            " service's threadpool work runs inline so that the profiler sees it. The share of the"
            " profiled wall-clock time by the package whose code runs:",
            "",
        ]
        for combination in profiled:
            profile = combination["profile"]
            parts = ", ".join(f"{part} {share:.0%}" for part, share in list(profile["shares"].items())[:5])
            lines.append(
                f"- **{combination['label']}**: {parts}"
                f" ({profile['ms_per_request']:.1f} ms a request under the profiler;"
                f" [profile]({LINK_BASE}{profile['text']}))."
            )
        lines.append("")

    ablated = [c for c in combinations if c.get("ablation")]
    if ablated:
        names = ["service", "no middlewares", "one router", "both", "rows, no objects", "textbook"]
        inline = ["service, threads inline", "textbook, threads inline"]
        if any(name in c["ablation"]["us_per_request"] for c in ablated for name in inline):
            names += inline  # not in a report of a run before those variants existed
        first = ablated[0]["ablation"]
        lines += [
            "### The service's parts, each measured alone",
            "",
            f"Get tag by id made in-process to the ASGI app ({first['requests']} requests a round,"
            f" {first['rounds']} rounds taking turns; the least CPU time per request over the rounds,"
            " every thread counted): the service, the service with one thing changed, and the textbook"
            " app. *No middlewares*: without the request id, the access line and the body limit."
            " *One router*: only the tags router included (FastAPI 0.137 and later try a request on the"
            " routes of every included router before the matching one; the service's `ResourceRouter`"
            " skips a router whose prefix the path lacks, so what is left here is that check)."
            " *Both*: those two changes together. *Rows, no objects*: `CRUDBase.get` by a select of the"
            " tag's columns, made once, its row validated into the response as it is, with no ORM object"
            " built (the hand-written read the service does not use). *Threads inline* (sync projects):"
            " anyio's hand-over to a worker thread replaced by a call on the event loop's thread, so"
            " that what is left is the work itself, without the trips to a thread (a sync route, its"
            " response's validation and a sync dependency each make one; the single-table read's table"
            " above counts them); the difference between a figure and its inline one is what those"
            " trips cost. An async project makes no trips to anyio's threads on this read (-)."
            " In-process CPU time is noisy on"
            " a shared machine (runs differ by some 10 %): read the table for what is large, not for"
            " the last per cent. Microseconds per request, and over the service's:",
            "",
            "| Combination | " + " | ".join(names) + " |",
            "| --- |" + " ---: |" * len(names),
        ]
        for combination in ablated:
            figures = combination["ablation"]["us_per_request"]
            service = figures["service"]
            cells = [
                f"{figures[name]:,.0f} ({figures[name] / service:.2f})" if name in figures else "-"
                for name in names
            ]
            lines.append(f"| {combination['label']} | " + " | ".join(cells) + " |")
        lines.append("")

    lines += ["### How the cost grows with the data", ""]
    for kind, title in (
        ("list", f"List ({method['page']} products) at offset 0 and at offset 9,000, of 10,000 products:"),
        (
            "cursor",
            f"List ({method['page']} products) at offset 0 and after a cursor 9,000 rows in (keyset):",
        ),
        ("get", "Get by id with 1,000 products in the table and with 100,000:"),
    ):
        if not all(kind in combination["scale"] for combination in combinations):
            continue  # a report of a run before that measure existed
        first = combinations[0]["scale"][kind]["points"] if combinations else {}
        near, far = list(first) or ["", ""]
        lines += [
            title,
            "",
            f"| Combination | {near}: p50 ms | rps | {far}: p50 ms | rps | p50 growth |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for combination in combinations:
            scale = combination["scale"][kind]
            low, high = scale["points"].values()
            lines.append(
                f"| {combination['label']} | {_ms(low['p50_ms'])} | {_number(low['rps'])}"
                f" | {_ms(high['p50_ms'])} | {_number(high['rps'])} | x {scale['p50_growth']:.2f} |"
            )
        lines.append("")

    measured = [
        found[side]
        for combination in combinations
        for found in combination["endpoints"].values()
        for side in ("service", "baseline")
    ]
    slower = [
        f"{combination['label']} {ENDPOINTS[endpoint]}"
        for combination in combinations
        for endpoint, found in combination["endpoints"].items()
        if found["baseline"]["rps"] <= found["service"]["rps"]
    ]
    if measured:
        generator_share = max(m["generator_cpu_share"] for m in measured)
        busy = sum(m["machine_busy"] for m in measured) / len(measured)
        verdict = (
            "No: every baseline answered more requests per second than its service"
            if not slower
            else f"Perhaps: the baseline was not faster for {', '.join(slower)}"
        )
        lines += [
            "### Is the load generator the bottleneck?",
            "",
            f"{verdict}, and wrk used at most {generator_share:.0%} of one core in any run. Both CPUs"
            f" were {busy:.0%} busy on average during the runs, counting everything on the machine"
            f" (load average {machine['load_average_before'][0]:.1f} before the run and"
            f" {machine['load_average_after'][0]:.1f} after): absolute figures vary with other load,"
            " ratios of runs made side by side much less.",
            "",
        ]
        restarts = sum(c.get("server_restarts", 0) for c in combinations)
        if restarts:
            lines += [
                f"During this run something else on the machine stopped a server {restarts} time(s);"
                " each was started again and its comparison made again from the start.",
                "",
            ]
    return "\n".join(lines)


def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    combinations = results["combinations"]
    labels = [c["label"] for c in combinations]
    figure, (ratios, rates) = plt.subplots(1, 2, figsize=(12, 4.5))
    width = 0.8 / len(ENDPOINTS)
    for index, (endpoint, label) in enumerate(ENDPOINTS.items()):
        positions = [n + (index - (len(ENDPOINTS) - 1) / 2) * width for n in range(len(combinations))]
        ratios.bar(positions, [c["endpoints"][endpoint]["ratio"] for c in combinations], width, label=label)
        service = [c["endpoints"][endpoint]["service"]["rps"] for c in combinations]
        baseline = [c["endpoints"][endpoint]["baseline"]["rps"] for c in combinations]
        bars = rates.bar(positions, baseline, width, color="none", edgecolor="grey", hatch="//")
        rates.bar(positions, service, width, label=label, color=f"C{index}")
        if index == 0:
            bars.set_label("its baseline")
    goal = results["method"]["ratio_goal"]
    ratios.axhline(goal, color="black", linestyle="--", linewidth=1, label=f"goal for get by id ({goal:g})")
    ratios.axhline(1, color="grey", linewidth=0.5)
    ratios.set_title("Service over raw-driver baseline (requests per second)")
    ratios.set_ylabel("ratio")
    rates.set_title("Requests per second: service, and its baseline (hatched)")
    rates.set_ylabel("requests per second")
    for axes in (ratios, rates):
        axes.set_xticks(range(len(combinations)), labels, rotation=15)
        axes.legend(fontsize="small")
        axes.grid(axis="y", alpha=0.3)
    figure.suptitle(
        f"nox -s bench, {results['date']}: {results['machine']['cores']} cores, uvicorn one worker,"
        f" {results['load_generator']['name'].split(' [')[0]}",
        fontsize="medium",
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write(results: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "bench.md").write_text(markdown(results) + "\n")
    chart(results, out / "bench.png")


if __name__ == "__main__":
    source = Path(sys.argv[1])
    write(json.loads(source.read_text()), source.parent)
