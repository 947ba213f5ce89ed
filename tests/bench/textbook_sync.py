"""The textbook endpoint, sync: `session.get` in a plain route, a yield session dependency, `response_model`.

As textbook_async.py, for psycopg and sqlite3: FastAPI runs the route and the dependency in
its threadpool.
"""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker
from textbook_models import DATABASE_URL, Key, Read, Tag, hidden, url_for

engine = create_engine(url_for("pysqlite" if DATABASE_URL.startswith("sqlite") else "psycopg"))
SessionLocal = sessionmaker(engine, expire_on_commit=False)


def get_session() -> Iterator[Session]:
    with SessionLocal() as session:
        yield session


app = FastAPI()


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/api/v1/tags/{tag_id}", response_model=Read)
def get_tag(tag_id: Key, session: Annotated[Session, Depends(get_session)]) -> Tag:
    tag = session.get(Tag, tag_id)
    if hidden(tag):
        raise HTTPException(status_code=404, detail="Tag not found")
    return tag
