"""Settings every service shares, read from the environment (pydantic-settings)."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSettings(BaseSettings):
    """Where the broker is and how topics are named and sized."""

    # populate_by_name: code and tests may pass bootstrap_servers= despite the env alias.
    model_config = SettingsConfigDict(
        env_prefix="LEADSTREAM_", extra="ignore", populate_by_name=True
    )

    bootstrap_servers: str = Field(
        default="127.0.0.1:19092",
        validation_alias=AliasChoices(
            "KAFKA_BOOTSTRAP_SERVERS", "LEADSTREAM_KAFKA_BOOTSTRAP_SERVERS"
        ),
    )
    topic_prefix: str = Field(
        default="",
        description="Prepended to every topic name, e.g. 'staging.' (tests use one per test).",
    )
    partitions: int = Field(default=12, ge=1, description="Partitions of each created topic.")
    replication_factor: int = Field(default=1, ge=1)
    group_prefix: str = Field(default="leadstream", description="Consumer group = prefix.stage")
    delivery_timeout_ms: int = Field(
        default=300_000,
        ge=1_000,
        description="How long the producer retries a record before reporting it failed; the "
        "runtime then sends it again, and its input stays uncommitted until the broker takes it.",
    )

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    def environment(self) -> dict[str, str]:
        """The variables that give a service process these settings."""
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "LEADSTREAM_TOPIC_PREFIX": self.topic_prefix,
            "LEADSTREAM_PARTITIONS": str(self.partitions),
            "LEADSTREAM_REPLICATION_FACTOR": str(self.replication_factor),
            "LEADSTREAM_GROUP_PREFIX": self.group_prefix,
            "LEADSTREAM_DELIVERY_TIMEOUT_MS": str(self.delivery_timeout_ms),
        }


class DatabaseSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LEADSTREAM_", extra="ignore", populate_by_name=True
    )

    database_url: str = Field(
        default="postgresql+psycopg2://postgres@127.0.0.1:55432/leadstream",
        validation_alias=AliasChoices("DATABASE_URL", "LEADSTREAM_DATABASE_URL"),
    )


class RuntimeSettings(BaseSettings):
    """Knobs of the shared stream runtime; every service has them."""

    model_config = SettingsConfigDict(env_prefix="LEADSTREAM_", extra="ignore")

    batch_size: int = Field(default=500, ge=1, description="Messages taken per poll.")
    max_in_flight: int = Field(default=200, ge=1, description="Async stages: concurrent messages.")
    max_unacked: int = Field(
        default=20_000, ge=1, description="Sync stages: pause fetching past this many unacked."
    )
    commit_interval_s: float = Field(default=1.0, gt=0)
    shutdown_timeout_s: float = Field(default=20.0, gt=0)
    retry_backoff_max_s: float = Field(default=30.0, gt=0)
    metrics_port: int = Field(default=0, ge=0, description="0 = do not serve /metrics.")
    liveness_timeout_s: float = Field(
        default=60.0,
        gt=0,
        description="/healthz fails when the loop has not turned for this long, or when the "
        "handler has failed for this long without progress while the stage's dependencies "
        "are up.",
    )
    poison_attempts: int = Field(
        default=5,
        ge=1,
        description="A message its handler fails on this many times in a row while the "
        "stage's dependencies are up goes to the DLQ (with the error) instead of stalling.",
    )
    refused_record_grace_s: float = Field(
        default=60.0,
        ge=0,
        description="How long a DLQ record the broker refuses as too large is offered again "
        "whole before its original bytes are cut in half at each further refusal.",
    )
    log_level: str = "INFO"
