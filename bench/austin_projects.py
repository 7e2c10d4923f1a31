"""How many leads one-lead-per-project folds on the Austin export (docs/store.md).

The embedded demo pipeline (categorizer → enricher → scorer with the ``rules`` backend → store,
on SQLite) over the Austin permits, each scraped at 06:00 UTC the day after it was issued, as the
daily scrapes the export was made from (so freshness is judged as it was then, not from today).
No CAD data is loaded: every project is identified by its normalised address.

    python -m bench.austin_projects [--limit N] [--workdir DIR]

Prints the leads stored, the permits folded into them as ``duplicate`` discards, and the
largest projects.
"""

from __future__ import annotations

import argparse
import time as clock
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from itertools import islice
from pathlib import Path

from sqlalchemy import func, select

from schemas import RawPermit
from services.categorizer.builders import BuilderSettings
from services.common.db.engine import make_engine
from services.common.db.tables.pipeline import discarded_permits, scored_leads
from services.demo.pipeline import format_summary, run_demo
from services.ingest.formats import read_permits
from services.scorer.settings import ScorerBackend, ScorerSettings

AUSTIN = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
EXPORT = "austin_permits_2015-01_to_2016-04.csv"


def scraped_daily(permits: Iterator[RawPermit]) -> Iterator[RawPermit]:
    """Each permit as the next morning's scrape saw it (undated ones keep the reader's time)."""
    for permit in permits:
        if permit.issued_date is None:
            yield permit
            continue
        morning = datetime.combine(permit.issued_date + timedelta(days=1), time(6), tzinfo=UTC)
        yield permit.model_copy(update={"scraped_at": morning})


def _number_base(permit_key: str) -> str:
    """``austin_tx:2015-001321 EP`` → ``austin_tx:2015-001321``: Austin numbers one job's
    trade permits alike."""
    return permit_key.rsplit(" ", 1)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, default=AUSTIN / EXPORT)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--workdir", type=Path, default=Path(".run/austin_projects"))
    parser.add_argument("--examples", type=int, default=8)
    args = parser.parse_args()

    started = clock.monotonic()
    read = read_permits(args.input, "austin", datetime(2016, 5, 1, tzinfo=UTC))
    permits = list(islice(scraped_daily(read), args.limit))
    result = run_demo(
        permits,
        [],
        workdir=args.workdir,
        out_dir=args.workdir / "exports",
        scorer=ScorerSettings(scorer_backend=ScorerBackend.RULES),
        builders=BuilderSettings(),
    )
    print(format_summary(result, args.workdir / "exports"))

    engine = make_engine(f"sqlite:///{args.workdir / 'leadstream.db'}")
    with engine.connect() as conn:
        leads = conn.execute(select(func.count()).select_from(scored_leads)).scalar_one()
        folded = conn.execute(
            select(func.count())
            .select_from(discarded_permits)
            .where(discarded_permits.c.reason == "duplicate")
        ).scalar_one()
        per_lead = func.count().label("n")
        largest = conn.execute(
            select(discarded_permits.c.duplicate_of, per_lead)
            .where(discarded_permits.c.reason == "duplicate")
            .group_by(discarded_permits.c.duplicate_of)
            .order_by(per_lead.desc(), discarded_permits.c.duplicate_of)
            .limit(args.examples)
        ).all()
        joined = conn.execute(
            select(discarded_permits.c.permit_key, discarded_permits.c.duplicate_of).where(
                discarded_permits.c.reason == "duplicate"
            )
        ).all()
        sizes = Counter(
            len(related)
            for related in conn.execute(select(scored_leads.c.related_permits)).scalars()
        )
        print(f"\npermits read          {len(permits):,}")
        print(f"leads without folding {leads + folded:,}")
        print(f"leads stored          {leads:,}")
        share = folded / (leads + folded) if leads + folded else 0.0
        print(f"folded (duplicate)    {folded:,} ({share:.1%} of the leads there would be)")
        same_job = sum(1 for key, lead in joined if _number_base(key) == _number_base(lead))
        print(f"  same permit number  {same_job:,} (Austin's BP/EP/MP/PP of one job)")
        print(f"  another number      {folded - same_job:,}")
        print(
            "leads by related permits: "
            + ", ".join(f"{k}: {n:,}" for k, n in sorted(sizes.items()))
        )
        print("largest projects:")
        for lead_key, n in largest:
            lead = conn.execute(
                select(
                    scored_leads.c.permit_number,
                    scored_leads.c.project_key,
                    scored_leads.c.issued_date,
                    scored_leads.c.related_permits,
                ).where(scored_leads.c.permit_key == lead_key)
            ).one()
            related = ", ".join(
                f"{e['permit_id']} ({e['issued_date']})" for e in lead.related_permits
            )
            print(f"  {lead.permit_number} ({lead.issued_date}) {lead.project_key}: +{n}:")
            print(f"      {related}")
    print(f"\n{clock.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
