"""Settings of the exporter: the buyer API and the tier files (environment, ``LEADSTREAM_*``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator

from services.common.config import DatabaseSettings
from services.common.messages import describe_problems

# The admin key sees every buyer's leads: at least 32 characters (``secrets.token_urlsafe(32)``
# gives 43), so it is not something a person typed or a placeholder left in a config.
MIN_ADMIN_KEY_LENGTH = 32


class ExporterSettings(DatabaseSettings):
    api_host: str = Field(default="0.0.0.0", description="Interface the buyer API listens on.")
    api_port: int = Field(default=8000, ge=1, le=65535)
    admin_key: SecretStr | None = Field(
        default=None,
        description=f"Operators' key, at least {MIN_ADMIN_KEY_LENGTH} characters; unset = none.",
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
    db_idle_in_transaction_timeout_s: float = Field(
        default=30,
        gt=0,
        description="PostgreSQL ends an exporter session left idle in a transaction this long.",
    )
    dispute_window_days: int = Field(
        default=7, ge=0, description="A buyer may dispute a lead this many days after buying it."
    )
    csv_downloads_per_key: int = Field(
        default=2, ge=1, description="Concurrent GET /v1/leads.csv per API key (429 beyond)."
    )
    csv_download_deadline_s: float = Field(
        default=600, gt=0, description="A GET /v1/leads.csv not done by then is cut off."
    )

    webhook_allow_private: bool = Field(
        default=False,
        description="Local development and tests: a subscription's webhook_url may be http and "
        "a loopback or private address.",
    )

    portal_secret: SecretStr | None = Field(
        default=None,
        description="Signs the portal's session cookies (32+ characters); unset = a random "
        "secret per process, so sessions end when it restarts and are not shared by replicas.",
    )
    portal_secure_cookies: bool = Field(
        default=True,
        description="Portal cookies carry Secure (HTTPS only); false for local development "
        "over plain http.",
    )
    portal_session_hours: float = Field(
        default=12, gt=0, le=24 * 7, description="A portal sign-in lasts this long."
    )

    @field_validator("admin_key")
    @classmethod
    def _long_enough(cls, key: SecretStr | None) -> SecretStr | None:
        if key is not None and len(key.get_secret_value()) < MIN_ADMIN_KEY_LENGTH:
            raise ValueError(
                f"LEADSTREAM_ADMIN_KEY must be at least {MIN_ADMIN_KEY_LENGTH} characters "
                f"(it has {len(key.get_secret_value())}); generate one with "
                "python -c 'import secrets; print(secrets.token_urlsafe(32))', "
                "or unset it for no admin access"
            )
        return key

    @field_validator("portal_secret")
    @classmethod
    def _secret_long_enough(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is not None and len(secret.get_secret_value()) < MIN_ADMIN_KEY_LENGTH:
            raise ValueError(
                f"LEADSTREAM_PORTAL_SECRET must be at least {MIN_ADMIN_KEY_LENGTH} characters"
            )
        return secret


@contextmanager
def exit_on_invalid_settings() -> Iterator[None]:
    """Wrap reading ``ExporterSettings()`` from the environment: invalid settings end the
    process with what is wrong (never the values).

    pydantic's own message quotes the input, which for the admin key is the secret itself.
    """
    try:
        yield
    except ValidationError as exc:
        problems = describe_problems(
            exc.errors(include_input=False, include_url=False), whole="settings"
        )
        raise SystemExit(f"exporter: refusing to start: {problems}") from None
