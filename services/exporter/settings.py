"""Settings of the exporter: the buyer API and the tier files (environment, ``LEADSTREAM_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from services.common.config import DatabaseSettings


class ExporterSettings(DatabaseSettings):
    api_host: str = Field(default="0.0.0.0", description="Interface the buyer API listens on.")
    api_port: int = Field(default=8000, ge=1, le=65535)
    admin_key: SecretStr | None = Field(
        default=None, description="Operators' key for /v1/stats; unset = no admin access."
    )
    max_buyers_per_lead: int = Field(
        default=1, ge=1, description="A lead is sold to at most this many buyers (1 = exclusive)."
    )
    export_dir: Path | None = Field(
        default=None, description="Where tier files are written and served from; unset = none."
    )
    export_interval_s: float = Field(
        default=0, ge=0, description="The service rewrites the tier files this often; 0 = never."
    )
    db_pool_size: int = Field(default=10, ge=1, description="Database connections per process.")
    api_statement_timeout_s: float = Field(
        default=10, gt=0, description="An API query running longer is cancelled (503)."
    )
