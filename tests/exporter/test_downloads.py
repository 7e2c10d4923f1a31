"""CSV downloads against a real uvicorn server: slow readers cannot starve the API or the
database (per-key limit, short transactions per page, a total deadline)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from services.exporter import api
from services.exporter.api import create_app
from services.exporter.settings import ExporterSettings
from tests.exporter.conftest import MakeBuyer
from tests.exporter.factories import insert_leads, lead_values
from tests.exporter.live import serving

pytestmark = pytest.mark.postgres

# Big enough that a response never fits in the socket buffers: a client that stops reading
# leaves the server with most of it still to send.
LEADS = 2_500
DESCRIPTION = "In-ground pool and spa, " * 120  # ~2.9 kB a row, ~7 MB a download
PAGE = 250


@pytest.fixture
def many_leads(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    insert_leads(
        engine,
        *(lead_values(score=60 + i % 40, project_description=DESCRIPTION) for i in range(LEADS)),
    )
    monkeypatch.setattr(api, "CSV_BATCH", PAGE)  # small chunks: the server buffers little


@contextmanager
def stalled_download(base_url: str, key: dict[str, str]) -> Iterator[socket.socket]:
    """A client that asks for the CSV and does not read the answer (until ``status_of``)."""
    host, port = base_url.removeprefix("http://").split(":")
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: tiny window
    client.settimeout(10)
    client.connect((host, int(port)))
    request = f"GET /v1/leads.csv HTTP/1.1\r\nHost: {host}\r\nX-API-Key: {key['X-API-Key']}\r\n\r\n"
    client.sendall(request.encode())
    try:
        yield client
    finally:
        client.close()


def status_of(client: socket.socket) -> bytes:
    """The status line of a stalled download (reading a few bytes of it)."""
    received = b""
    while b"\r\n" not in received:
        chunk = client.recv(256)
        assert chunk, "the server closed the download"
        received += chunk
    return received.split(b"\r\n")[0]


def idle_in_transaction(engine: Engine) -> int:
    with engine.connect() as conn:
        count: int = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND state LIKE 'idle in transaction%'"
            )
        ).scalar_one()
    return count


def test_slow_readers_neither_starve_other_requests_nor_hold_transactions(
    engine: Engine, settings: ExporterSettings, make_buyer: MakeBuyer, many_leads: None
) -> None:
    # One pooled connection (+ SQLAlchemy's overflow of 10): twelve stalled downloads used to
    # hold every connection, so authentication itself waited 30 s and failed.
    settings = settings.model_copy(update={"db_pool_size": 1, "csv_downloads_per_key": 2})
    buyers = [make_buyer(f"slow-{n}") for n in range(6)]
    with serving(create_app(settings)) as base_url, ExitStack() as stalled:
        clients = [
            stalled.enter_context(stalled_download(base_url, key))
            for key in buyers
            for _ in range(settings.csv_downloads_per_key)
        ]
        time.sleep(1)  # the streams are waiting on their clients now

        with httpx.Client(base_url=base_url, timeout=5) as http:
            started = time.monotonic()
            answer = http.get("/v1/leads?limit=5", headers=make_buyer("patient"))
            assert answer.status_code == 200
            assert time.monotonic() - started < 3

            # Over the per-key limit: 429 with a message and when to retry.
            refused = http.get("/v1/leads.csv", headers=buyers[0])
            assert refused.status_code == 429
            assert "2 CSV downloads" in refused.json()["detail"]
            assert int(refused.headers["Retry-After"]) > 0
        # No download holds a transaction open while its client is not reading.
        assert idle_in_transaction(engine) == 0
        assert {status_of(client) for client in clients} == {b"HTTP/1.1 200 OK"}

        stalled.close()  # the clients go away: their downloads end and free their slots
        with httpx.Client(base_url=base_url, timeout=5) as http:
            give_up = time.monotonic() + 5
            while (status := download_status(http, buyers[0])) == 429:
                assert time.monotonic() < give_up, "a closed download kept its slot"
                time.sleep(0.1)
            assert status == 200


def download_status(http: httpx.Client, key: dict[str, str]) -> int:
    with http.stream("GET", "/v1/leads.csv", headers=key) as response:
        return response.status_code


def test_a_stalled_download_is_cut_at_the_deadline_and_frees_its_slot(
    engine: Engine, settings: ExporterSettings, make_buyer: MakeBuyer, many_leads: None
) -> None:
    settings = settings.model_copy(
        update={"csv_downloads_per_key": 1, "csv_download_deadline_s": 1.0}
    )
    key = make_buyer("stalls")
    with serving(create_app(settings)) as base_url, httpx.Client(base_url=base_url) as http:
        with stalled_download(base_url, key) as client:
            assert status_of(client) == b"HTTP/1.1 200 OK"
            assert http.get("/v1/leads.csv", headers=key).status_code == 429
            time.sleep(1.5)
            # The server gave up on the stalled client: its response ends without the final
            # chunk, so the client can tell the CSV is incomplete.
            rest = b""
            while chunk := client.recv(1 << 16):
                rest += chunk
            assert not rest.endswith(b"\r\n0\r\n\r\n")  # the last chunk of a chunked body
            assert rest.count(b"\r\n") < LEADS
        full = http.get("/v1/leads.csv", headers=key, timeout=30)
        assert full.status_code == 200
        assert full.text.count("\n") == LEADS + 1  # header + every lead


def test_a_paged_download_is_the_listed_leads_in_order(
    engine: Engine,
    settings: ExporterSettings,
    make_buyer: MakeBuyer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Ties on score and scored_at across page boundaries: the keyset must neither skip nor
    # repeat a lead.
    insert_leads(engine, *(lead_values(score=90 - i // 4) for i in range(23)))
    monkeypatch.setattr(api, "CSV_BATCH", 3)
    key = make_buyer("pages")
    with serving(create_app(settings)) as base_url, httpx.Client(base_url=base_url) as http:
        listed = http.get("/v1/leads?limit=500", headers=key).json()["items"]
        lines = http.get("/v1/leads.csv", headers=key).text.splitlines()[1:]
    assert [int(line.split(",")[0]) for line in lines] == [item["id"] for item in listed]
    assert len(lines) == 23


def test_postgresql_ends_an_api_session_left_idle_in_a_transaction(
    settings: ExporterSettings,
) -> None:
    app = create_app(settings.model_copy(update={"db_idle_in_transaction_timeout_s": 0.5}))
    engine: Engine = app.state.context.engine
    with engine.connect() as conn:
        assert conn.execute(text("SHOW idle_in_transaction_session_timeout")).scalar() == "500ms"
        conn.execute(text("SELECT 1"))  # a transaction is open now, and left idle
        time.sleep(1.5)
        with pytest.raises(OperationalError):
            conn.execute(text("SELECT 1"))
    engine.dispose()
