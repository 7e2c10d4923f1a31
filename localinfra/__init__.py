"""Provision a real Kafka broker and a real PostgreSQL server on this machine.

Used for local development, the test suite and benchmarks where Docker is not available.
Stdlib only: ``python -m localinfra up|down|env`` works with any Python >= 3.11.
See docs/provisioning.md for directories, ports, environment variables and timings.
"""

from localinfra._util import InfraError, ProcessExited

__all__ = ["InfraError", "ProcessExited"]
