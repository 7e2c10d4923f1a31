"""The production runtime on the in-memory broker: the demo's pipeline and the runtime's fast
tests, with no Kafka (docs/architecture.md, "The Kafka port")."""

from schemas import DeadLetter
from services.common.config import RuntimeSettings
from services.common.embedded import EmbeddedPipeline
from tests.support.toy import TOY_OUT, permit_json, slow_async_stage, toy_stage

SETTINGS = RuntimeSettings(commit_interval_s=0.001)


def test_messages_flow_through_and_bad_ones_reach_the_dlq_with_their_bytes() -> None:
    pipeline = EmbeddedPipeline([toy_stage()], SETTINGS)
    for i in range(20):
        pipeline.publish("permits.raw", *permit_json(i))
    pipeline.publish("permits.raw", "junk", b"\xffnot json")
    pipeline.publish("permits.raw", *permit_json(1, prefix="BAD"))
    pipeline.run_until_idle()
    assert len(pipeline.read(TOY_OUT)) == 20
    letters = [DeadLetter.model_validate_json(v) for v in pipeline.read("permits.dlq")]
    assert sorted(d.key or "" for d in letters) == ["junk", "toy_tx:BAD-000001"]
    junk = next(d for d in letters if d.key == "junk")
    assert junk.original == b"\xffnot json"
    assert junk.error.startswith("not UTF-8")


def test_async_stages_run_with_their_in_flight_limit() -> None:
    pipeline = EmbeddedPipeline(
        [slow_async_stage(0.05, {})], SETTINGS.model_copy(update={"max_in_flight": 100})
    )
    for i in range(200):
        pipeline.publish("permits.raw", *permit_json(i))
    pipeline.run_until_idle()
    assert len(pipeline.read(TOY_OUT)) == 200
