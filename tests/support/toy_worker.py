"""``python -m tests.support.toy_worker``: the toy stage as a real service process."""

from services.common.service import run_stage
from tests.support.toy import toy_stage

if __name__ == "__main__":
    run_stage(toy_stage())
