"""``leadstream cad import``: load an appraisal-district export into ``properties``."""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path
from typing import Any

from services.common.config import DatabaseSettings
from services.common.db.engine import DatabaseNotReady, make_engine, require_current_schema
from services.enricher.cad_formats import FORMATS, CadFormatError, reader_for
from services.enricher.cad_import import ImportReport, import_records
from services.ingest.progress import Progress


def register(subparsers: Any) -> None:
    cad = subparsers.add_parser("cad", help="appraisal-district (CAD) property data")
    cad_sub = cad.add_subparsers(dest="cad_command", required=True)
    load = cad_sub.add_parser(
        "import",
        help="load a CAD export into the properties table (re-importing updates in place)",
        description="Load a CAD export. Each account is inserted, updated or left unchanged "
        "(upsert on county + account id); invalid records are rejected with their reason.",
    )
    load.add_argument("file", type=Path, metavar="FILE", help="the export file")
    load.add_argument(
        "--county", required=True, metavar="NAME", help="county of the export, e.g. tarrant"
    )
    load.add_argument("--format", required=True, choices=FORMATS, dest="format_name")
    load.add_argument(
        "--mapping",
        type=Path,
        metavar="MAP",
        help="csv only: YAML column mapping (see docs/cad_mapping_example.yaml)",
    )
    load.set_defaults(func=_cad_import)


class _CountingReader(io.RawIOBase):
    """Counts the bytes read from a file, for the progress bar."""

    def __init__(self, raw: io.RawIOBase) -> None:
        self._raw = raw
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        count = self._raw.readinto(buffer)
        self.bytes_read += count or 0
        return count


def _cad_import(args: argparse.Namespace) -> int:
    try:
        reader = reader_for(args.format_name, args.mapping)
        engine = make_engine(DatabaseSettings().database_url)
        require_current_schema(engine, wait_s=0)
        with args.file.open("rb", buffering=0) as raw:
            counting = _CountingReader(raw)
            progress = Progress(args.file.stat().st_size, label=f"cad import {args.county} (bytes)")

            def show(report: ImportReport) -> None:
                progress.update(counting.bytes_read, f"{report.read:,} records")

            started = time.monotonic()
            report = import_records(
                engine, args.county, reader(io.BufferedReader(counting)), on_batch=show
            )
            progress.finish(counting.bytes_read, f"{report.read:,} records")
    except (OSError, CadFormatError, DatabaseNotReady) as exc:
        print(f"cad import: {exc}", file=sys.stderr)
        return 1
    print(summary(report, args.file.name, args.county, time.monotonic() - started))
    if report.read and report.rejected.total() == report.read:
        print(
            "cad import: every record was rejected; check --format and --mapping", file=sys.stderr
        )
        return 1
    return 0


def summary(report: ImportReport, file_name: str, county: str, seconds: float) -> str:
    rate = report.read / seconds if seconds > 0 else 0.0
    lines = [
        f"{county}: {report.read:,} records from {file_name} in {seconds:.1f} s ({rate:,.0f}/s)",
        f"  inserted  {report.inserted:>10,}",
        f"  updated   {report.updated:>10,}",
        f"  unchanged {report.unchanged:>10,}",
        f"  rejected  {report.rejected.total():>10,}",
    ]
    for reason, count in report.rejected.most_common():
        lines.append(f"    {count:>8,}  {reason}  (e.g. {', '.join(report.examples[reason])})")
    return "\n".join(lines)
