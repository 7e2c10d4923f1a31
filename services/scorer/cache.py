"""The scoring cache: verdicts keyed by a hash of the exact scoring input, in the database.

Every replica shares it, so a re-published unchanged permit is answered from here and costs
no second LLM call. The key covers the prompt version, the model, the thinking switch and the
exact messages, so a change to any of them asks the model again. The database driver blocks,
so lookups and stores run batched (one statement per event-loop turn) on a small thread pool
of their own, and the event loop keeps turning.
"""

from __future__ import annotations

import hashlib
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine, func, update
from sqlalchemy.dialects import postgresql, sqlite

from services.common.db.engine import database_answers, make_engine, require_current_schema
from services.common.db.tables.scoring_cache import ScoringCacheRow
from services.scorer.batching import TurnBatcher
from services.scorer.prompt import PROMPT_VERSION, Messages
from services.scorer.verdict import Verdict

log = logging.getLogger(__name__)


def input_hash(model: str, thinking: str, messages: Messages) -> str:
    scoring_input = {
        "prompt_version": PROMPT_VERSION,
        "model": model,
        "thinking": thinking,
        "messages": messages,
    }
    canonical = json.dumps(scoring_input, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class ScoringCache:
    def __init__(self, engine: Engine, *, workers: int) -> None:
        self._engine = engine
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="scoring-cache")
        self._gets = TurnBatcher(self._get_many, self._executor)
        self._puts = TurnBatcher(self._put_many, self._executor)

    @classmethod
    def connect(cls, url: str, *, pool_size: int) -> ScoringCache:
        engine = make_engine(url, pool_size=pool_size)
        require_current_schema(engine)
        return cls(engine, workers=pool_size)

    async def get(self, key: str) -> Verdict | None:
        return await self._gets.submit(key)

    async def put(self, key: str, verdict: Verdict) -> None:
        await self._puts.submit((key, verdict))

    def reachable(self) -> bool:
        """Whether the cache's database answers: a scoring error while it does is the lead's."""
        return database_answers(self._engine)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self._engine.dispose()

    def _get_many(self, keys: list[str]) -> list[Verdict | None]:
        # One round trip: count the hits and read the results together.
        hits = (
            update(ScoringCacheRow)
            .where(ScoringCacheRow.input_hash.in_(set(keys)))
            .values(hits=ScoringCacheRow.hits + 1, last_hit_at=func.now())
            .returning(ScoringCacheRow.input_hash, ScoringCacheRow.result)
        )
        with self._engine.begin() as conn:
            found: dict[str, Any] = {key: result for key, result in conn.execute(hits)}
        return [_verdict(key, found.get(key)) for key in keys]

    def _put_many(self, entries: list[tuple[str, Verdict]]) -> list[None]:
        rows = {
            key: {
                "input_hash": key,
                "prompt_version": verdict.prompt_version or PROMPT_VERSION,
                "model": verdict.model,
                "result": verdict.model_dump(mode="json"),
            }
            for key, verdict in entries
        }
        insert = postgresql.insert if self._engine.dialect.name == "postgresql" else sqlite.insert
        # Two replicas may score the same input at once; the first answer stays.
        statement = (
            insert(ScoringCacheRow)
            .values(list(rows.values()))
            .on_conflict_do_nothing(index_elements=[ScoringCacheRow.input_hash])
        )
        with self._engine.begin() as conn:
            conn.execute(statement)
        return [None] * len(entries)


def _verdict(key: str, result: Any) -> Verdict | None:
    if result is None:
        return None
    try:
        return Verdict.model_validate(result)
    except ValidationError:
        log.warning("unreadable scoring cache entry ignored", extra={"input_hash": key})
        return None
