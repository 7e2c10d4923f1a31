"""The quixstreams contender: the categorizer stage's work as a quixstreams ``Application``.

``bench_runtime`` runs it as a subprocess in quixstreams' own virtualenv (``quix_venv.py``)
with ``PYTHONPATH`` at the repository root, so it runs our real ``schemas`` and
``categorize``. Per message it does what the database-free categorizer stage does: decode a
``RawPermit`` from the record's bytes with pydantic, ``categorize`` it with the same rules and
clock, and produce the ``CategorizedPermit`` or ``DiscardedPermit`` encoded with
``model_dump_json`` to the categorized or discarded topic under the result's key. Everything
else is quixstreams' defaults (at-least-once, commits every 5 s), except that it reads the
topic from the start, as the stage does. It stops on SIGTERM.

    python -m bench.quix_app BOOTSTRAP GROUP INPUT_TOPIC CATEGORIZED_TOPIC DISCARDED_TOPIC
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from quixstreams import Application
from quixstreams.models.serializers import (
    Deserializer,
    Serializer,
)

from schemas.discards import DiscardedPermit
from schemas.permits import CategorizedPermit, RawPermit
from services.categorizer.categorize import categorize
from services.categorizer.rule_book import load_rules


class RawPermitJson(Deserializer):  # type: ignore[misc,unused-ignore]  # Any without quixstreams installed
    """The runtime's decode: the input model validated from the record's bytes."""

    def __call__(self, value: bytes, ctx: Any) -> RawPermit:
        return RawPermit.model_validate_json(value)


class ModelJson(Serializer):  # type: ignore[misc,unused-ignore]
    """The runtime's encode of an output."""

    def __call__(self, value: BaseModel, ctx: Any) -> bytes:
        return value.model_dump_json(exclude_none=False).encode("utf-8")


def clock() -> datetime:
    return datetime.now(UTC)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    for name in ("bootstrap", "group", "input", "categorized", "discarded"):
        parser.add_argument(name)
    args = parser.parse_args(argv)
    rules = load_rules()

    app = Application(
        broker_address=args.bootstrap,
        consumer_group=args.group,
        auto_offset_reset="earliest",
    )
    source = app.topic(args.input, value_deserializer=RawPermitJson())
    categorized = app.topic(args.categorized, key_serializer="string", value_serializer=ModelJson())
    discarded = app.topic(args.discarded, key_serializer="string", value_serializer=ModelJson())

    def decide(permit: RawPermit) -> CategorizedPermit | DiscardedPermit:
        return categorize(permit, rules, permit.scraped_at or clock())

    def destination(value: BaseModel, _key: Any, _timestamp: int, _headers: Any) -> Any:
        return discarded if isinstance(value, DiscardedPermit) else categorized

    sdf = app.dataframe(source).apply(decide)
    sdf.to_topic(destination, key=lambda result: result.key)
    app.run()


if __name__ == "__main__":
    main()
