"""MkDocs hook: code blocks of generated code, taken from real renders of the template.

A page asks for generated code with a directive on a line of its own:

    <!-- generated: file=src/catalog_service/database.py database=postgresql -->

and the hook replaces that line with a fenced code block holding the file's text as Copier
renders it from this repository (HEAD plus uncommitted changes, like the tests). Arguments,
`key=value` separated by spaces (quote a value that holds spaces, as in a shell):

- `file`: path inside the generated project (required). The package is `catalog_service`,
  from the project name "Catalog Service".
- `database`, `session_style`, `primary_key`, `soft_delete`, or any other question of
  copier.yml that has choices or is a yes/no: the answer; unnamed questions take their defaults.
- `vary=<question>`: one content tab per answer of that question, in copier.yml's order
  (defaults first for yes/no questions), each tab holding that answer's render. A caption
  above the tabs names what they switch: the file (or `title`), the symbols, the question and
  the answers the directive fixes, so that tabs right below another code block are not taken
  for that block's.
- `open=<answer>`, with `vary`: the tab selected when the page loads (else the first), e.g.
  `open=true` on the page about `soft_delete`, which should open on what soft delete does.
- `symbol=Name` or `symbol=Class.method` (several, comma-separated): only those top-level or
  nested definitions (functions, classes, assignments), found with `ast`, with their decorators.
- `start=REGEX`, optionally `end=REGEX`: only the lines from the first line matching `start`
  through the next line matching `end` (inclusive; to the end of the file without `end`).
- `diff=N`, with `vary`: instead of tabs, a unified diff (N lines of context) from the first
  answer's text to the second's; an empty diff is an error.
- `lang`, `title`: the code block's language and title (from the file's suffix and path).

A directive that names an unknown question or answer, a file missing from its render, or a
symbol or pattern that matches nothing stops the build with a message naming the page, so
the pages cannot drift from the template. Each combination is rendered at most once per build,
and only the combinations the pages ask for. Directives inside fenced code blocks are left alone.
"""

from __future__ import annotations

import ast
import difflib
import logging
import re
import shlex
import shutil
import tempfile
import textwrap
import time
import warnings
from pathlib import Path
from typing import Any

import copier
import yaml

log = logging.getLogger("mkdocs.hooks.generated_code")

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT_NAME = "Catalog Service"
DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)<!--\s*generated:(?P<arguments>.*?)-->[ \t]*$")
FENCE = re.compile(r"^[ \t]*(?P<marker>`{3,}|~{3,})")
ARGUMENTS = {"file", "vary", "open", "diff", "symbol", "start", "end", "lang", "title"}
LANGUAGES = {
    ".py": "python",
    ".toml": "toml",
    ".yml": "yaml",
    ".yaml": "yaml",
    ".ini": "ini",
    ".md": "markdown",
    ".mako": "mako",
    ".example": "sh",
    ".sh": "sh",
    ".json": "json",
}
NAMED_LANGUAGES = {"Dockerfile": "dockerfile"}

Combination = tuple[tuple[str, Any], ...]


class DirectiveError(Exception):
    """A directive that cannot be honoured; the message says why."""


def load_choices() -> dict[str, tuple[list[Any], Any]]:
    """The questions a directive may name: each one's answers and default, from copier.yml."""
    questions = yaml.safe_load((REPO_ROOT / "copier.yml").read_text(encoding="utf-8"))
    choices: dict[str, tuple[list[Any], Any]] = {}
    for name, question in questions.items():
        if name.startswith("_") or not isinstance(question, dict):
            continue
        if "choices" in question:
            values = list(question["choices"].values())
            choices[name] = (values, question.get("default", values[0]))
        elif question.get("type") == "bool":
            default = bool(question.get("default", False))
            choices[name] = ([default, not default], default)
    return choices


class Renders:
    """Combinations of the template rendered into one temporary directory, each at most once."""

    def __init__(self) -> None:
        self.choices = load_choices()
        self.directory = Path(tempfile.mkdtemp(prefix="docs-renders-"))
        self.projects: dict[Combination, Path] = {}

    def close(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def parse_answer(self, question: str, text: str) -> Any:
        if question not in self.choices:
            known = ", ".join([*sorted(ARGUMENTS), *self.choices])
            raise DirectiveError(f"unknown argument {question!r} (known: {known})")
        values, _ = self.choices[question]
        for value in values:
            if text == str(value).lower() or text == str(value):
                return value
        allowed = ", ".join(str(value).lower() for value in values)
        raise DirectiveError(f"{question}={text!r} is not an answer of {question} ({allowed})")

    def combination(self, answers: dict[str, Any]) -> Combination:
        """Every question with a choice, answered: the given answers, else the defaults."""
        return tuple((name, answers.get(name, default)) for name, (_, default) in self.choices.items())

    def project(self, combination: Combination) -> Path:
        if combination not in self.projects:
            name = "-".join(str(value).lower() for _, value in combination)
            destination = self.directory / name
            started = time.perf_counter()
            try:
                with warnings.catch_warnings():
                    # "Dirty template changes included automatically": wanted while writing docs.
                    warnings.simplefilter("ignore")
                    copier.run_copy(
                        src_path=str(REPO_ROOT),
                        dst_path=str(destination),
                        data={"project_name": PROJECT_NAME, **dict(combination)},
                        defaults=True,
                        vcs_ref="HEAD",
                        quiet=True,
                        unsafe=True,
                        skip_tasks=True,
                    )
            except Exception as error:
                raise DirectiveError(f"rendering {describe(combination)} failed: {error}") from error
            log.info(f"rendered {describe(combination)} in {time.perf_counter() - started:.1f}s")
            self.projects[combination] = destination
        return self.projects[combination]


def describe(combination: Combination) -> str:
    return " ".join(f"{name}={str(value).lower()}" for name, value in combination)


_renders: Renders | None = None


def on_pre_build(config: Any) -> None:
    global _renders
    _renders = Renders()


def on_post_build(config: Any) -> None:
    global _renders
    if _renders is not None:
        _renders.close()
        _renders = None


def on_build_error(error: Exception) -> None:
    on_post_build(None)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    # Imported here, so that the template's tests can use this module without MkDocs.
    from mkdocs.exceptions import PluginError

    if _renders is None:
        raise PluginError("generated_code: on_pre_build did not run")
    try:
        return expand(markdown, _renders)
    except DirectiveError as error:
        raise PluginError(f"{page.file.src_uri}:{error}") from None


def expand(markdown: str, renders: Renders) -> str:
    """The page with each directive replaced; directives inside fenced code are left alone."""
    lines: list[str] = []
    fence: str | None = None
    for number, line in enumerate(markdown.splitlines(), start=1):
        if fence_match := FENCE.match(line):
            marker = fence_match["marker"]
            if fence is None:
                fence = marker
            elif marker[0] == fence[0] and len(marker) >= len(fence) and not line.strip()[len(marker) :]:
                fence = None
            lines.append(line)
        elif fence is None and (match := DIRECTIVE.match(line)):
            try:
                block = render_directive(renders, match["arguments"])
            except DirectiveError as error:
                raise DirectiveError(f"{number}: {line.strip()}\n  {error}") from None
            lines.extend(match["indent"] + text if text else "" for text in block.splitlines())
        elif fence is None and line.lstrip().startswith("<!-- generated"):
            raise DirectiveError(
                f"{number}: malformed directive {line.strip()!r}; "
                "expected `<!-- generated: file=... -->` on a line of its own"
            )
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


def render_directive(renders: Renders, text: str) -> str:
    """The Markdown that replaces one directive: a code block, or content tabs of code blocks."""
    try:
        words = shlex.split(text)
    except ValueError as error:
        raise DirectiveError(f"cannot split the arguments: {error}") from None
    arguments: dict[str, str] = {}
    answers: dict[str, Any] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not value:
            raise DirectiveError(f"{word!r} is not key=value")
        if key in arguments or key in answers:
            raise DirectiveError(f"{key} is given twice")
        if key in ARGUMENTS:
            arguments[key] = value
        else:
            answers[key] = renders.parse_answer(key, value)
    if "file" not in arguments:
        raise DirectiveError("file=... is required")
    if "end" in arguments and "start" not in arguments:
        raise DirectiveError("end=... needs start=...")
    if "diff" in arguments and "vary" not in arguments:
        raise DirectiveError("diff=... needs vary=...")
    if "open" in arguments and ("vary" not in arguments or "diff" in arguments):
        raise DirectiveError("open=... needs vary=... and no diff=...")
    if "vary" not in arguments:
        text, path = select(renders, renders.combination(answers), arguments)
        return fenced(text, path, arguments)

    question = arguments["vary"]
    if question not in renders.choices:
        raise DirectiveError(f"vary={question}: not a question with choices")
    if question in answers:
        raise DirectiveError(f"vary={question} and {question}=... contradict each other")
    values = renders.choices[question][0]
    opened = renders.parse_answer(question, arguments["open"]) if "open" in arguments else values[0]
    labels = [f"{question}: {str(v).lower()}" if isinstance(v, bool) else str(v) for v in values]
    variants = [select(renders, renders.combination({**answers, question: v}), arguments) for v in values]
    if "diff" in arguments:
        return diff_block(arguments, labels, [text for text, _ in variants])
    tabs = [tabs_caption(question, answers, arguments)]
    for index, (value, label, (text, path)) in enumerate(zip(values, labels, variants, strict=True)):
        # `===!` starts a new set of tabs, even right after another directive's set; `+` selects
        # the tab when the page loads (the first one is selected without it).
        marker = ("===!" if index == 0 else "===") + ("+" if value == opened and index > 0 else "")
        tabs.append(f'{marker} "{label}"\n\n' + textwrap.indent(fenced(text, path, arguments), "    "))
    return "\n".join(tabs)


def tabs_caption(question: str, answers: dict[str, Any], arguments: dict[str, str]) -> str:
    """The paragraph above a set of tabs: which code the tabs switch, and by which question."""
    what = f"`{arguments.get('title', arguments['file'])}`"
    if "symbol" in arguments:
        what += ": " + ", ".join(f"`{name}`" for name in arguments["symbol"].split(","))
    fixed = ", ".join(f"`{name}={str(value).lower()}`" for name, value in answers.items())
    caption = f"{what}, one tab per answer of `{question}`" + (f" (with {fixed})" if fixed else "")
    # attr_list: the class on the paragraph, which docs/stylesheets/extra.css sets close to its tabs.
    return f"{caption}:\n{{ .generated-tabs-caption }}\n"


def select(renders: Renders, combination: Combination, arguments: dict[str, str]) -> tuple[str, Path]:
    """The text a directive shows from one render, and the file it comes from."""
    project = renders.project(combination)
    name = arguments["file"]
    path = project / name
    if not path.is_file():
        existing = [str(p.relative_to(project)) for p in project.rglob("*") if p.is_file()]
        close = difflib.get_close_matches(name, existing, n=1, cutoff=0.8)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise DirectiveError(f"{name} is not in the render of {describe(combination)}{hint}")
    text = path.read_text(encoding="utf-8")
    where = f"{name} ({describe(combination)})"
    if "symbol" in arguments:
        text = select_symbols(text, arguments["symbol"], where)
    elif "start" in arguments:
        text = select_lines(text, arguments["start"], arguments.get("end"), where)
    return text.strip("\n"), path


def fenced(text: str, path: Path, arguments: dict[str, str], language: str | None = None) -> str:
    """A fenced code block, its fence longer than any run of backticks in the text."""
    if language is None:
        language = (
            arguments.get("lang") or NAMED_LANGUAGES.get(path.name) or LANGUAGES.get(path.suffix, "text")
        )
    title = arguments.get("title", arguments["file"]).replace('"', "'")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f'{fence}{language} title="{title}"\n{text}\n{fence}\n'


def diff_block(arguments: dict[str, str], labels: list[str], texts: list[str]) -> str:
    """A unified diff from the first answer's text to the second's."""
    if len(texts) != 2:
        raise DirectiveError("diff=... needs a question with exactly two answers")
    try:
        context = int(arguments["diff"])
    except ValueError:
        raise DirectiveError(f"diff={arguments['diff']!r}: give the number of context lines") from None
    old, new = (text.splitlines() for text in texts)
    lines = list(difflib.unified_diff(old, new, labels[0], labels[1], n=context, lineterm=""))
    if not lines:
        raise DirectiveError(f"{arguments['file']} is the same for {labels[0]} and {labels[1]}")
    title = f"{arguments['file']}: {labels[0]} → {labels[1]}"
    return fenced("\n".join(lines), Path(arguments["file"]), {**arguments, "title": title}, "diff")


def select_lines(text: str, start: str, end: str | None, where: str) -> str:
    lines = text.splitlines()
    try:
        start_pattern = re.compile(start)
        end_pattern = re.compile(end) if end is not None else None
    except re.error as error:
        raise DirectiveError(f"bad pattern: {error}") from None
    first = next((i for i, line in enumerate(lines) if start_pattern.search(line)), None)
    if first is None:
        raise DirectiveError(f"start={start!r} matches no line of {where}")
    if end_pattern is None:
        return textwrap.dedent("\n".join(lines[first:]))
    last = next((i for i in range(first, len(lines)) if end_pattern.search(lines[i])), None)
    if last is None:
        raise DirectiveError(f"end={end!r} matches no line of {where} from line {first + 1} on")
    return textwrap.dedent("\n".join(lines[first : last + 1]))


def select_symbols(text: str, names: str, where: str) -> str:
    """The source of each named definition (dotted for nested ones), in the order given."""
    try:
        tree = ast.parse(text)
    except SyntaxError as error:
        raise DirectiveError(f"symbol=... needs Python, and {where} does not parse: {error}") from None
    lines = text.splitlines()
    pieces = []
    for dotted in names.split(","):
        node = find_symbol(tree, dotted.split("."))
        if node is None:
            raise DirectiveError(f"symbol {dotted!r} is not defined in {where}")
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        # The comment lines right above a definition belong to it.
        while first > 1 and lines[first - 2].lstrip().startswith("#"):
            first -= 1
        pieces.append(textwrap.dedent("\n".join(lines[first - 1 : node.end_lineno])))
    return "\n\n".join(pieces)


def find_symbol(scope: ast.AST, path: list[str]) -> ast.stmt | None:
    name, rest = path[0], path[1:]
    for node in ast.iter_child_nodes(scope):
        if defines(node, name):
            assert isinstance(node, ast.stmt)
            if not rest:
                return node
            if isinstance(node, ast.ClassDef):
                return find_symbol(node, rest)
    return None


def defines(node: ast.AST, name: str) -> bool:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return node.name == name
    if isinstance(node, ast.Assign):
        return any(isinstance(target, ast.Name) and target.id == name for target in node.targets)
    if isinstance(node, ast.AnnAssign):
        return isinstance(node.target, ast.Name) and node.target.id == name
    return False
