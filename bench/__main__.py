"""``make bench``: run every benchmark (or those named) and print their reports.

Each ``bench/bench_<name>.py`` has ``main() -> None``; results and the command are recorded
in docs/benchmarks.md by hand from this output.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path


def main(names: list[str]) -> int:
    available = sorted(
        m.name.removeprefix("bench_")
        for m in pkgutil.iter_modules([str(Path(__file__).parent)])
        if m.name.startswith("bench_")
    )
    chosen = names or available
    unknown = set(chosen) - set(available)
    if unknown:
        print(f"unknown benchmark(s): {', '.join(sorted(unknown))}; have: {', '.join(available)}")
        return 2
    for name in chosen:
        print(f"\n=== bench {name} ===", flush=True)
        started = time.monotonic()
        importlib.import_module(f"bench.bench_{name}").main()
        print(f"--- {name}: {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
