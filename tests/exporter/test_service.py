"""``leadstream run exporter`` as its own process: the buyer API on its port, Prometheus
metrics and probes on the metrics port like every other service."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.exporter.conftest import ADMIN_KEY
from tests.exporter.live import free_port

pytestmark = pytest.mark.postgres
REPO = Path(__file__).resolve().parents[2]


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def wait_for(port: int, path: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None, "the exporter exited"
        try:
            if get(port, path)[0] == 200:
                return
        except OSError:
            pass
        assert time.monotonic() < deadline, f"nothing answered {path} on {port}"
        time.sleep(0.2)


def test_metrics_are_served_on_the_metrics_port_and_not_on_the_api_port(
    database_url: str,
) -> None:
    api_port, metrics_port = free_port(), free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "LEADSTREAM_API_HOST": "127.0.0.1",
        "LEADSTREAM_API_PORT": str(api_port),
        "LEADSTREAM_METRICS_PORT": str(metrics_port),
        "LEADSTREAM_ADMIN_KEY": ADMIN_KEY,
    }
    env.pop("LEADSTREAM_EXPORT_DIR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "run", "exporter"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(api_port, "/readyz", process)
        wait_for(metrics_port, "/readyz", process)
        status, body = get(metrics_port, "/metrics")
        assert status == 200 and "python_info" in body
        assert get(metrics_port, "/healthz")[0] == 200
        assert get(api_port, "/metrics")[0] == 404
    finally:
        process.terminate()
        process.wait(timeout=30)
