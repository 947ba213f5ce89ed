"""The textbook apps' model and response schema: what most FastAPI + SQLAlchemy tutorials write.

One table, `tags`, mapped as the tutorials map a table (a declarative class, SQLAlchemy's own
types), and a Pydantic model read `from_attributes`. Runs in a generated project's .venv; the
combination comes from the environment, as for the baselines (baseline_common.py):

    BENCH_DATABASE_URL   the service's database (postgresql://... or sqlite:///...)
    BENCH_PRIMARY_KEY    int or uuid
    BENCH_SOFT_DELETE    1 when the project has soft delete (deleted rows are hidden)
"""

import uuid
from datetime import datetime
from typing import Any

from baseline_common import DATABASE_URL, SOFT_DELETE, UUID_KEYS
from pydantic import BaseModel, ConfigDict
from sqlalchemy import DateTime, Integer, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Without `from __future__ import annotations`, FastAPI reads this as the path parameter's type.
Key = uuid.UUID if UUID_KEYS else int


def url_for(driver: str) -> str:
    """DATABASE_URL with the driver named, as a tutorial's settings spell it."""
    scheme, rest = DATABASE_URL.split("://", 1)
    return f"{scheme.split('+')[0]}+{driver}://{rest}"


class Base(DeclarativeBase):
    pass


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[Any] = mapped_column(Uuid if UUID_KEYS else Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    name: Mapped[str]
    if SOFT_DELETE:
        deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TagRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: Key
    created_at: datetime
    updated_at: datetime
    name: str


class SoftDeletedTagRead(TagRead):
    deleted_at: datetime | None


Read = SoftDeletedTagRead if SOFT_DELETE else TagRead


def hidden(tag: Tag | None) -> bool:
    """No such tag, or (with soft delete) a deleted one: a 404 either way."""
    return tag is None or (SOFT_DELETE and tag.deleted_at is not None)
