"""Run a stage as a service process: logging, health endpoints, signals, the runtime."""

from __future__ import annotations

import logging

from services.common.config import KafkaSettings, RuntimeSettings
from services.common.http import serve_health
from services.common.logs import configure_logging
from services.common.runtime import StreamRuntime
from services.common.stage import Stage

log = logging.getLogger(__name__)


def run_stage(stage: Stage, settings: RuntimeSettings | None = None) -> None:
    settings = settings or RuntimeSettings()
    configure_logging(stage.name, settings.log_level)
    runtime = StreamRuntime(stage, KafkaSettings(), settings)
    runtime.install_signal_handlers()
    if settings.metrics_port:
        serve_health(settings.metrics_port, runtime.healthy, runtime.ready)
        log.info("health and metrics served", extra={"port": settings.metrics_port})
    runtime.run()
