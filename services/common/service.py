"""Start a service process: logging, the start-up checks, health endpoints, signals, the run.

Every service's ``main()`` reads its settings from the environment once and hands them to
``start_service`` with a ``build`` callable that makes what the process runs. Building is where
a service checks what it needs before it reads a single message (the database reachable, within
the start-up wait, and at this code's schema; a usable rules file); a refusal ends the process
with one line an operator can act on instead of a traceback or a crash loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from services.common.config import RuntimeSettings
from services.common.db.engine import DatabaseNotReady
from services.common.http import serve_health
from services.common.logs import configure_logging
from services.common.runtime import StreamRuntime

log = logging.getLogger(__name__)


class ServiceProcess(Protocol):
    """What a service runs in the foreground: a ``StreamRuntime``, or a service's own wrapper
    around one (or around an HTTP server) with the same four methods."""

    def healthy(self) -> bool: ...

    def ready(self) -> bool: ...

    def install_signal_handlers(self) -> None: ...

    def run(self) -> None: ...


class Foreground:
    """A process whose foreground is one stream runtime, with more running beside it (the
    scorer's re-score stage, the notifier's relay): health, readiness and signals are the
    runtime's; a subclass says what ``run`` starts and stops around it."""

    runtime: StreamRuntime

    def healthy(self) -> bool:
        return self.runtime.healthy()

    def ready(self) -> bool:
        return self.runtime.ready()

    def install_signal_handlers(self) -> None:
        self.runtime.install_signal_handlers()


def start_service(
    name: str,
    runtime_settings: RuntimeSettings,
    build: Callable[[], ServiceProcess],
    *,
    refuse_on: tuple[type[Exception], ...] = (DatabaseNotReady,),
) -> None:
    """Run the service ``name`` until it is stopped.

    ``build`` runs once logging is configured; the exceptions in ``refuse_on`` that it raises
    become ``<name>: refusing to start: <why>`` and exit status 1. ``/healthz``, ``/readyz``
    and ``/metrics`` are served on ``LEADSTREAM_METRICS_PORT`` when it is set.
    """
    configure_logging(name, runtime_settings.log_level)
    try:
        process = build()
    except refuse_on as exc:
        raise SystemExit(f"{name}: refusing to start: {exc}") from None
    process.install_signal_handlers()
    if runtime_settings.metrics_port:
        serve_health(runtime_settings.metrics_port, process.healthy, process.ready)
        log.info("health and metrics served", extra={"port": runtime_settings.metrics_port})
    process.run()
