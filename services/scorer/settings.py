"""Settings of the scorer, from the environment (``LEADSTREAM_*``)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEEPSEEK_BASE_URL = "https://api.deepseek.com"


class ScorerBackend(StrEnum):
    LLM = "llm"
    RULES = "rules"  # deterministic, labelled on every lead; never a silent fallback


class Thinking(StrEnum):
    """The request's ``thinking`` switch (DeepSeek); ``omit`` sends no such field at all."""

    ON = "on"
    OFF = "off"
    OMIT = "omit"


_THINKING_WORDS = {"true": "on", "1": "on", "enabled": "on", "false": "off", "0": "off"}


class ScorerSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LEADSTREAM_", extra="ignore", env_ignore_empty=True, populate_by_name=True
    )

    scorer_backend: ScorerBackend = Field(
        default=ScorerBackend.LLM, description="llm, or the deterministic `rules` scorer."
    )

    # ---- the LLM endpoint (any OpenAI-compatible /chat/completions server)
    llm_base_url: str = Field(default=DEEPSEEK_BASE_URL, description="Without /chat/completions.")
    llm_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("LEADSTREAM_LLM_API_KEY", "DEEPSEEK_API_KEY", "llm_api_key"),
        description="Bearer token; unset for local servers that need none.",
    )
    llm_model: str = Field(default="deepseek-flash", min_length=1)
    llm_thinking: Thinking = Field(
        default=Thinking.OFF,
        description="on/off set the request body's `thinking` field; omit sends none "
        "(OpenAI rejects unknown fields).",
    )
    llm_json_mode: bool = Field(
        default=True, description="Ask for response_format json_object (off for servers without)."
    )
    llm_max_tokens: int | None = Field(
        default=None, ge=1, description="Cap on answer tokens; unset = the server's default."
    )
    llm_connect_timeout_s: float = Field(default=5.0, gt=0)
    llm_deadline_s: float = Field(
        default=60.0,
        gt=0,
        description="Total time one request may take, however the server trickles bytes.",
    )
    llm_max_in_flight: int = Field(
        default=200, ge=1, description="Concurrent HTTP requests per scorer stage."
    )

    # ---- per-lead failure budget within one scoring pass
    llm_max_attempts: int = Field(
        default=4, ge=1, description="Attempts per lead per pass before it becomes RETRY."
    )
    llm_retry_budget_s: float = Field(
        default=90.0, ge=0, description="Backoff time a lead may spend waiting within one pass."
    )
    llm_backoff_base_s: float = Field(default=1.0, ge=0)
    llm_backoff_max_s: float = Field(default=30.0, ge=0)

    # ---- circuit breaker (systemic failures pause scoring instead of producing RETRY leads)
    circuit_window: int = Field(default=20, ge=1, description="Recent calls judged together.")
    circuit_failure_ratio: float = Field(
        default=0.8, gt=0, le=1, description="Share of failed recent calls that opens the circuit."
    )
    circuit_probe_interval_s: float = Field(default=15.0, gt=0)

    # ---- re-scoring RETRY leads from leads.retry
    rescore_delay_s: float = Field(default=60.0, ge=0, description="Wait before the 1st re-score.")
    rescore_backoff: float = Field(default=4.0, ge=1, description="Growth of each later wait.")
    rescore_max_delay_s: float = Field(default=6 * 3600.0, ge=0)
    rescore_max_attempts: int = Field(
        default=6, ge=1, description="Scoring passes per lead, the first included; then final."
    )
    rescore_max_wait_s: float = Field(
        default=60.0,
        gt=0,
        description="Longest a handler holds a not-yet-due request; later ones are re-queued.",
    )
    rescore_max_in_flight: int = Field(default=50, ge=1)

    # ---- cost estimate (USD per million tokens) and the shared result cache
    llm_price_input_per_mtok: float = Field(default=0.28, ge=0)
    llm_price_cached_input_per_mtok: float = Field(default=0.028, ge=0)
    llm_price_output_per_mtok: float = Field(default=0.42, ge=0)
    scoring_cache_pool_size: int = Field(default=4, ge=1, description="Database connections.")

    @field_validator("llm_thinking", mode="before")
    @classmethod
    def _thinking_words(cls, value: Any) -> Any:
        if isinstance(value, str):
            word = value.strip().lower()
            return _THINKING_WORDS.get(word, word)
        return value

    @field_validator("llm_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _deepseek_needs_a_key(self) -> ScorerSettings:
        if (
            self.scorer_backend is ScorerBackend.LLM
            and self.llm_base_url == DEEPSEEK_BASE_URL
            and self.llm_api_key is None
        ):
            raise ValueError(
                "the llm scorer needs LEADSTREAM_LLM_API_KEY (or DEEPSEEK_API_KEY) for "
                f"{DEEPSEEK_BASE_URL}; or point LEADSTREAM_LLM_BASE_URL at a local server, "
                "or choose LEADSTREAM_SCORER_BACKEND=rules"
            )
        return self
