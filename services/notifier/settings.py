"""Notifier settings: relay, matching, webhook delivery (environment, ``LEADSTREAM_*``)."""

from __future__ import annotations

from pydantic import Field

from services.common.config import DatabaseSettings

# Standard Webhooks' suggested schedule (Svix uses the same shape): then hourly until 24 h.
DEFAULT_RETRY_SCHEDULE_S = (5.0, 30.0, 120.0, 600.0, 1800.0, 3600.0)


class NotifierSettings(DatabaseSettings):
    webhook_allow_private: bool = Field(
        default=False,
        description="Also allow http:// and loopback/private addresses (local development, "
        "tests). Never in production: it lets a buyer's URL reach internal services.",
    )
    webhook_timeout_s: float = Field(default=10.0, gt=0, description="Per attempt, in total.")
    webhook_retry_schedule_s: tuple[float, ...] = Field(
        default=DEFAULT_RETRY_SCHEDULE_S,
        description="Delay before the 2nd, 3rd, … attempt; past its end, webhook_retry_every_s.",
    )
    webhook_retry_every_s: float = Field(default=3600.0, gt=0)
    webhook_give_up_after_s: float = Field(
        default=86_400.0,
        gt=0,
        description="An endpoint failing this long since a delivery's first failure is disabled.",
    )
    webhook_max_in_flight: int = Field(default=200, ge=1, description="Requests at once, in all.")
    webhook_max_per_endpoint: int = Field(
        default=4, ge=1, description="Requests at once to one subscription's endpoint."
    )
    webhook_lease_s: float = Field(
        default=60.0,
        gt=0,
        description="A claimed delivery is due again after this if its worker died mid-send.",
    )
    webhook_poll_interval_s: float = Field(default=0.1, gt=0)
    relay_poll_interval_s: float = Field(default=0.05, gt=0)
    relay_batch: int = Field(default=500, ge=1)
    max_buyers_per_lead: int = Field(
        default=1, ge=1, description="As the exporter's: what a buyer may still see."
    )
