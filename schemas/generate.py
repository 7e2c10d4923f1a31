"""Write one JSON Schema file per topic into ``schemas/json/``.

Run ``python -m schemas.generate``; ``tests/schemas`` fails when a file is out of date.
"""

from __future__ import annotations

import json
from pathlib import Path

from schemas.topics import TOPIC_MODELS, Topic

JSON_DIR = Path(__file__).parent / "json"


def schema_text(topic: Topic) -> str:
    schema = TOPIC_MODELS[topic].model_json_schema(mode="validation")
    schema["$id"] = f"leadstream:{topic.value}"
    schema["x-kafka-topic"] = topic.value
    schema["x-kafka-key"] = "{jurisdiction}:{permit_number}"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def schema_path(topic: Topic) -> Path:
    return JSON_DIR / f"{topic.value}.json"


def main() -> None:
    JSON_DIR.mkdir(exist_ok=True)
    for topic in Topic:
        schema_path(topic).write_text(schema_text(topic))
        print(schema_path(topic))


if __name__ == "__main__":
    main()
