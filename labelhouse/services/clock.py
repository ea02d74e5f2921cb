"""The one place that reads the wall clock; services take ``now`` as an argument."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime | str) -> datetime:
    """SQLite hands back naive datetimes (or text, from raw SQL); everything stored is UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
