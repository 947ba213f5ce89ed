"""The textbook endpoint, async: `session.get` in a route, a yield session dependency, `response_model`.

Beside the raw-driver baseline in the benchmark's single-table read (get tag by id): the
pattern most FastAPI + SQLAlchemy tutorials teach, with SQLAlchemy's default pool and nothing
else (no pre-ping, no error mapping, no soft-delete criteria: a deleted row is hidden by a test
in the route). Serves asyncpg or aiosqlite by the URL (textbook_models.py).
"""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from textbook_models import DATABASE_URL, Key, Read, Tag, hidden, url_for

engine = create_async_engine(url_for("aiosqlite" if DATABASE_URL.startswith("sqlite") else "asyncpg"))
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


async def get_session() -> AsyncIterator[AsyncSession]:
    async with SessionLocal() as session:
        yield session


app = FastAPI()


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/api/v1/tags/{tag_id}", response_model=Read)
async def get_tag(tag_id: Key, session: Annotated[AsyncSession, Depends(get_session)]) -> Tag:
    tag = await session.get(Tag, tag_id)
    if hidden(tag):
        raise HTTPException(status_code=404, detail="Tag not found")
    return tag
