"""The notifier as a real process on real Kafka and PostgreSQL, and a real receiver."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest

from localinfra.webhook_receiver import WebhookReceiver
from services.common.config import KafkaSettings

REPO = Path(__file__).resolve().parents[2]

# Minutes and hours become fractions of a second, so a test sees many retries.
FAST_DELIVERY = {
    "LEADSTREAM_WEBHOOK_ALLOW_PRIVATE": "1",
    "LEADSTREAM_WEBHOOK_RETRY_SCHEDULE_S": "[0.3, 0.6, 1.0]",
    "LEADSTREAM_WEBHOOK_RETRY_EVERY_S": "1.5",
    "LEADSTREAM_WEBHOOK_TIMEOUT_S": "2",
    "LEADSTREAM_WEBHOOK_LEASE_S": "4",
    "LEADSTREAM_COMMIT_INTERVAL_S": "0.2",
}


class NotifierProcess:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self._env, self._log_path = env, log
        self._log: IO[bytes] = open(log, "ab")  # noqa: SIM115 (closed in stop)
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "run", "notifier"],
            cwd=REPO,
            env=self._env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._log.close()

    def log(self) -> str:
        return self._log_path.read_text(errors="replace")[-4000:]


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.stop()


@pytest.fixture
def start_notifier(
    database_url: str, kafka_settings: KafkaSettings, tmp_path: Path
) -> Iterator[Callable[..., NotifierProcess]]:
    started: list[NotifierProcess] = []

    def start(**overrides: str) -> NotifierProcess:
        env = {
            **os.environ,
            **kafka_settings.environment(),
            "DATABASE_URL": database_url,
            "PYTHONPATH": str(REPO),
            **FAST_DELIVERY,
            **overrides,
        }
        process = NotifierProcess(env, tmp_path / f"notifier{len(started)}.log")
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
