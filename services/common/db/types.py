"""Column types that are PostgreSQL-native in production and still work on SQLite (demo)."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Integer
from sqlalchemy.dialects.postgresql import JSONB

Json = JSON().with_variant(JSONB(), "postgresql")
# SQLite only autoincrements INTEGER PRIMARY KEY, so ids are BIGINT on PostgreSQL alone.
BigId = BigInteger().with_variant(Integer(), "sqlite")
