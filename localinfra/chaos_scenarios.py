"""The chaos scenarios: which faults each run injects, on what input and servers.

docs/reliability.md says what each scenario does and records their last results.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from localinfra.chaos_faults import (
    BrokerNodeKill,
    BrokerOutage,
    Fault,
    FlakyLLM,
    HugeModelNumbers,
    NotifierKills,
    PostgresOutage,
    ProcessKills,
    ReceiverFlaps,
    ScorerScaling,
    TopicRefusal,
)

POISON_SHARE = 0.01


@dataclass(frozen=True)
class Scenario:
    name: str
    what: str
    # The faults of a run that publishes for ``publish_s`` seconds (timings scale with it).
    faults: Callable[[float], tuple[Fault, ...]]
    poison: bool = False
    cluster: bool = False  # three brokers instead of one
    webhooks: bool = False  # a buyer subscribed to every lead, on a receiver in this process


def process_kills(publish_s: float) -> ProcessKills:
    return ProcessKills(start_s=5, end_s=max(publish_s, 30))


def webhook_faults(publish_s: float) -> tuple[Fault, ...]:
    end = max(publish_s, 40)
    return ReceiverFlaps(start_s=5, end_s=end), NotifierKills(start_s=8, end_s=end)


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("baseline", "no fault: the reference for drain time and lag", lambda p: ()),
        Scenario(
            "kill",
            "SIGKILL of a random service process every 2–6 s while publishing, each "
            "restarted 1 s later",
            lambda p: (process_kills(p),),
        ),
        Scenario(
            "broker",
            "the Kafka broker stopped for 20 s, then started",
            lambda p: (BrokerOutage(at_s=0.3 * p),),
        ),
        Scenario(
            "postgres",
            "PostgreSQL stopped for 20 s, then started",
            lambda p: (PostgresOutage(at_s=0.3 * p),),
        ),
        Scenario(
            "llm",
            "the LLM fails 30 % of calls and answers 10 % malformed throughout, and is down "
            "(503) for 30 s; the circuits must open and close on their own",
            lambda p: (FlakyLLM(down_at_s=0.3 * p),),
        ),
        Scenario(
            "poison",
            "1 % more input: garbage of every kind (times at the ends of the calendar "
            "included), and permits with hostile text; 1 % of model answers carry a "
            "5,000-digit number",
            lambda p: (HugeModelNumbers(),),
            poison=True,
        ),
        Scenario(
            "refusal",
            "1 % poison; the DLQ topic refuses every record for 45 s, three times the "
            "services' delivery timeout, then takes them again",
            lambda p: (TopicRefusal(at_s=0.3 * p),),
            poison=True,
        ),
        Scenario(
            "scale",
            "three scorer replicas; one SIGKILLed for good, a fourth started later",
            lambda p: (ScorerScaling(retire_at_s=0.25 * p, add_at_s=0.5 * p),),
        ),
        Scenario(
            "cluster",
            "3 brokers (replication factor 3, min.insync.replicas 2); one SIGKILLed, "
            "back 30 s later",
            lambda p: (BrokerNodeKill(at_s=0.3 * p),),
            cluster=True,
        ),
        Scenario(
            "webhook",
            "a buyer subscribed to every lead; its webhook endpoint refuses connections 8 s "
            "out of every 12 and the notifier is SIGKILLed every 3–8 s while publishing; "
            "every sellable lead must be delivered",
            webhook_faults,
            webhooks=True,
        ),
        Scenario(
            "all",
            "all of the above at once, on the 3-broker cluster (its broker fault is the kill "
            "of one broker)",
            lambda p: (
                process_kills(p),
                FlakyLLM(down_at_s=0.2 * p),
                ScorerScaling(retire_at_s=0.3 * p, add_at_s=0.6 * p),
                PostgresOutage(at_s=0.4 * p),
                BrokerNodeKill(at_s=0.5 * p),
                TopicRefusal(at_s=0.65 * p),
                HugeModelNumbers(),
                *webhook_faults(p),
            ),
            poison=True,
            cluster=True,
            webhooks=True,
        ),
    )
}
