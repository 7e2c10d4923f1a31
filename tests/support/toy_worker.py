"""``python -m tests.support.toy_worker``: the toy stage as a real service process."""

from services.common.config import KafkaSettings, RuntimeSettings
from services.common.runtime import StreamRuntime
from services.common.service import start_service
from tests.support.toy import toy_stage


def main() -> None:
    kafka, runtime = KafkaSettings(), RuntimeSettings()
    start_service("toy", runtime, lambda: StreamRuntime(toy_stage(), kafka, runtime))


if __name__ == "__main__":
    main()
