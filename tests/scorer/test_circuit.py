"""The circuit breaker: systemic failures pause every caller; one probe at a time reopens."""

from __future__ import annotations

import asyncio

from services.scorer.circuit import Admission, CircuitBreaker, Outcome

PROBE_S = 0.05


def _breaker(window: int = 10) -> CircuitBreaker:
    return CircuitBreaker("test", window=window, failure_ratio=0.8, probe_interval_s=PROBE_S)


def test_a_systemic_failure_pauses_callers_until_a_single_probe_succeeds() -> None:
    async def scenario() -> None:
        breaker = _breaker()
        assert await breaker.admit() is Admission.NORMAL
        breaker.record(Admission.NORMAL, Outcome.SYSTEMIC, "HTTP 401")
        assert breaker.is_open
        waiters = [asyncio.create_task(breaker.admit()) for _ in range(20)]
        await asyncio.sleep(PROBE_S / 3)
        assert not any(w.done() for w in waiters)  # nobody calls before the probe is due
        await asyncio.sleep(PROBE_S)
        probes = [w for w in waiters if w.done()]
        assert [p.result() for p in probes] == [Admission.PROBE]
        breaker.record(Admission.PROBE, Outcome.SUCCESS)
        results = await asyncio.gather(*waiters)
        assert results.count(Admission.NORMAL) == 19 and not breaker.is_open
        assert breaker.recoveries == 1

    asyncio.run(scenario())


def test_a_failed_probe_keeps_it_open_and_an_abandoned_probe_is_replaced() -> None:
    async def scenario() -> None:
        breaker = _breaker()
        breaker.record(Admission.NORMAL, Outcome.SYSTEMIC, "HTTP 402")
        probe = await asyncio.wait_for(breaker.admit(), 1)
        assert probe is Admission.PROBE
        breaker.record(probe, Outcome.SYSTEMIC, "HTTP 402 again")
        assert breaker.is_open
        second = await asyncio.wait_for(breaker.admit(), 1)
        assert second is Admission.PROBE
        breaker.record(second, Outcome.ABANDONED)  # cancelled at shutdown
        third = await asyncio.wait_for(breaker.admit(), 1)
        assert third is Admission.PROBE and breaker.is_open

    asyncio.run(scenario())


def test_it_opens_when_most_recent_calls_fail_but_not_on_a_minority_of_failures() -> None:
    breaker = _breaker(window=10)
    for i in range(100):  # 30 % failures, as a flaky but working provider gives
        breaker.record(Admission.NORMAL, Outcome.FAILURE if i % 10 < 3 else Outcome.SUCCESS)
    assert not breaker.is_open
    for _ in range(8):
        breaker.record(Admission.NORMAL, Outcome.FAILURE)
    assert breaker.is_open
