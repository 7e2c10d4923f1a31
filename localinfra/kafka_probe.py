"""Is a Kafka broker up: the ids of the live brokers in the cluster metadata.

With confluent_kafka importable this is ``AdminClient.list_topics``. ``python -m localinfra``
must also work from a plain ``python3`` (stdlib only, no confluent_kafka), so a minimal
stdlib MetadataRequest answers the same question there.
"""

from __future__ import annotations

import functools
import importlib
import socket
import struct
from typing import Any

from localinfra._util import port_open

_PROBE_TIMEOUT_S = 2.0


@functools.cache
def _admin_client_class() -> Any:
    """confluent_kafka's AdminClient when the running interpreter has it, else None."""
    try:
        return importlib.import_module("confluent_kafka.admin").AdminClient
    except ImportError:
        return None


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed mid-response")
        chunks += chunk
    return bytes(chunks)


def _raw_metadata_broker_ids(host: str, port: int, timeout: float) -> frozenset[int] | None:
    """Stdlib Kafka MetadataRequest v4 (the oldest version Kafka 4 still serves, KIP-896).

    A real protocol round trip: the broker only answers once request processing is
    enabled, i.e. the same signal as an admin client's metadata call.
    """
    client_id = b"localinfra"
    # header: api_key=3 (Metadata), api_version=4, correlation_id, client_id
    # body: topics=[] (an empty array, not null: we only want brokers), allow_auto_create=false
    request = struct.pack(">hhih", 3, 4, 7, len(client_id)) + client_id + struct.pack(">i?", 0, 0)
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(struct.pack(">i", len(request)) + request)
            (size,) = struct.unpack(">i", _recv_exact(sock, 4))
            payload = _recv_exact(sock, size)
        correlation_id, _throttle_ms, count = struct.unpack_from(">iii", payload, 0)
        if correlation_id != 7:
            return None
        offset, ids = 12, set()
        for _ in range(count):
            node_id, host_len = struct.unpack_from(">ih", payload, offset)
            offset += 6 + host_len + 4  # node_id, host, port
            (rack_len,) = struct.unpack_from(">h", payload, offset)
            offset += 2 + max(rack_len, 0)  # rack is a nullable string (-1 = null)
            ids.add(node_id)
        return frozenset(ids)
    except (OSError, struct.error):
        return None


def broker_ids(bootstrap: str, timeout: float = _PROBE_TIMEOUT_S) -> frozenset[int] | None:
    """Ids of the live brokers in the cluster metadata as seen through ``bootstrap``
    (first host:port only for the stdlib path), or None if nothing answered."""
    host, _, port_text = bootstrap.split(",")[0].strip().rpartition(":")
    port = int(port_text)
    # Skip the client entirely while the port is closed: cheaper, and librdkafka would
    # otherwise log connection-refused noise on every poll.
    if not port_open(host, port):
        return None
    admin_cls = _admin_client_class()
    if admin_cls is None:
        return _raw_metadata_broker_ids(host, port, timeout)
    client = admin_cls({"bootstrap.servers": bootstrap, "log_level": 0})
    try:
        metadata = client.list_topics(timeout=timeout)
    except Exception:  # KafkaException (timeout/transport); any failure means "not ready"
        return None
    return frozenset(int(b) for b in metadata.brokers)
