"""``leadstream run exporter``: serves the buyer API and, if configured, keeps tier files current.

The exporter reads PostgreSQL only (the store fills it), so it is an HTTP service rather than a
stream stage. With ``LEADSTREAM_EXPORT_DIR`` and ``LEADSTREAM_EXPORT_INTERVAL_S`` set, a
background thread rewrites the tier files every interval.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

import uvicorn
from sqlalchemy import Engine

from services.common.config import RuntimeSettings
from services.common.db.engine import database_answers, make_engine, require_current_schema
from services.common.service import start_service
from services.exporter.api import configure_sessions, create_app
from services.exporter.settings import ExporterSettings, exit_on_invalid_settings
from services.exporter.tier_files import export_tier_files

log = logging.getLogger(__name__)


class PeriodicExport(threading.Thread):
    """Rewrites the tier files every ``interval_s`` until stopped; a failed run is retried."""

    def __init__(self, engine: Engine, settings: ExporterSettings) -> None:
        super().__init__(name="tier-files", daemon=True)
        if settings.export_dir is None or settings.export_interval_s <= 0:
            raise ValueError("periodic export needs an export directory and an interval")
        self.engine = engine
        self.out_dir = settings.export_dir
        self.interval_s = settings.export_interval_s
        self.max_buyers_per_lead = settings.max_buyers_per_lead
        self._stop = threading.Event()

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                report = export_tier_files(
                    self.engine,
                    self.out_dir,
                    max_buyers_per_lead=self.max_buyers_per_lead,
                    now=datetime.now(UTC),
                )
                log.info(
                    "tier files rewritten",
                    extra={
                        "files": len(report.files),
                        "rows": sum(report.files.values()),
                        "removed": len(report.removed),
                        "marked_exported": report.marked_exported,
                    },
                )
            except Exception:
                log.exception("tier file export failed; retrying next interval")
            self._stop.wait(self.interval_s)

    def stop(self) -> None:
        self._stop.set()
        self.join(timeout=self.interval_s + 30)


def open_database(settings: ExporterSettings) -> Engine:
    """The exporter's own engine (the API has its pool); raises DatabaseNotReady unless the
    database is reachable and at the latest schema."""
    engine = make_engine(settings.database_url, pool_size=1)
    if engine.dialect.name == "postgresql":
        # The tier-file export's cursor reads every lead: no statement timeout, but a session
        # stuck inside its transaction is ended like the API's.
        configure_sessions(
            engine,
            statement_timeout_s=None,
            idle_in_transaction_timeout_s=settings.db_idle_in_transaction_timeout_s,
        )
    require_current_schema(engine)
    return engine


class ExporterProcess:
    """The buyer API in the foreground; the periodic tier-file export beside it, if set.

    Like every service it serves Prometheus and the probes on ``LEADSTREAM_METRICS_PORT``, for
    the operators' network; the buyer API port does not serve /metrics.
    """

    def __init__(self, engine: Engine, settings: ExporterSettings) -> None:
        self.engine = engine
        self.settings = settings

    def healthy(self) -> bool:
        return True

    def ready(self) -> bool:
        return database_answers(self.engine)

    def install_signal_handlers(self) -> None:
        """Nothing to do: uvicorn installs its own, and ``run`` returns once it has stopped."""

    def run(self) -> None:
        settings = self.settings
        periodic = None
        if settings.export_dir is not None and settings.export_interval_s > 0:
            periodic = PeriodicExport(self.engine, settings)
            periodic.start()
        log.info("buyer API starting", extra={"port": settings.api_port})
        try:
            # log_config=None: uvicorn's records go through our JSON logging.
            uvicorn.run(
                create_app(settings),
                host=settings.api_host,
                port=settings.api_port,
                log_config=None,
            )
        finally:
            if periodic is not None:
                periodic.stop()
            self.engine.dispose()


def main() -> None:
    with exit_on_invalid_settings():
        settings = ExporterSettings()
    runtime = RuntimeSettings()
    start_service("exporter", runtime, lambda: ExporterProcess(open_database(settings), settings))
