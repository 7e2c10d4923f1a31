"""The quixstreams contender's own virtualenv, kept in the cache dir outside the repository.

quixstreams 3.28.1 requires ``confluent-kafka<2.13`` and ``pydantic<2.14``; the project pins
newer versions of both, so quixstreams cannot share the project's environment. It gets a
virtualenv of its own (``$LEADSTREAM_CACHE_DIR``, else ``~/.cache/leadstream``, as the Kafka
jars): made on first use with the project's interpreter, quixstreams installed with pip from
whatever index pip is configured for, plus what ``schemas`` and ``services.categorizer`` import
(pip picks the pydantic that quixstreams allows). Later runs reuse it; a changed requirement
list rebuilds it. Deleting the directory is always safe.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import venv
from pathlib import Path

from localinfra._util import cache_dir, file_lock

QUIXSTREAMS_VERSION = "3.28.1"
# What our schemas and the categorizer import besides pydantic (which quixstreams brings).
REQUIREMENTS = (f"quixstreams=={QUIXSTREAMS_VERSION}", "pydantic-settings>=2.5,<3", "PyYAML>=6,<7")
# Distributions whose versions make the comparison honest, recorded with every result.
REPORTED = ("quixstreams", "confluent-kafka", "pydantic", "pydantic-core")


def venv_dir() -> Path:
    return cache_dir() / "bench-quixstreams-venv"


def quix_python() -> Path:
    """The virtualenv's interpreter, with the virtualenv made first when missing or stale."""
    home = venv_dir()
    python = home / "bin" / "python"
    marker = home / ".requirements"
    wanted = "\n".join(REQUIREMENTS)
    with file_lock(cache_dir() / ".bench-quixstreams.lock"):
        if python.is_file() and marker.is_file() and marker.read_text() == wanted:
            return python
        print(f"making the quixstreams virtualenv in {home} (once)", flush=True)
        shutil.rmtree(home, ignore_errors=True)
        venv.EnvBuilder(with_pip=True).create(home)
        subprocess.run(
            [
                python,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                *REQUIREMENTS,
            ],
            check=True,
        )
        marker.write_text(wanted)
    return python


def versions(python: Path | str) -> dict[str, str]:
    """Versions of the reported distributions, and of librdkafka, in that interpreter."""
    script = (
        "import json, importlib.metadata as m, confluent_kafka as ck\n"
        "v = {}\n"
        f"for n in {REPORTED!r}:\n"
        "    try:\n"
        "        v[n] = m.version(n)\n"
        "    except m.PackageNotFoundError:\n"
        "        pass\n"
        "v['librdkafka'] = ck.libversion()[0]\n"
        "print(json.dumps(v))\n"
    )
    out = subprocess.run([str(python), "-c", script], check=True, capture_output=True, text=True)
    found: dict[str, str] = json.loads(out.stdout)
    return found
