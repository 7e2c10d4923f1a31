"""The embedded bus runs the same stages as Kafka would, DLQ included, without a broker."""

from schemas import DeadLetter
from services.common.inprocess import InProcessBus
from tests.support.toy import TOY_OUT, permit_json, slow_async_stage, toy_stage


def test_messages_flow_through_and_bad_ones_reach_the_dlq_with_their_bytes() -> None:
    bus = InProcessBus([toy_stage()])
    for i in range(20):
        bus.publish("permits.raw", *permit_json(i))
    bus.publish("permits.raw", "junk", b"\xffnot json")
    bus.publish("permits.raw", *permit_json(1, prefix="BAD"))
    bus.run_until_idle()
    assert len(bus.drain(TOY_OUT)) == 20
    letters = [DeadLetter.model_validate_json(v) for v in bus.drain("permits.dlq")]
    assert sorted(d.key or "" for d in letters) == ["junk", "toy_tx:BAD-000001"]
    assert next(d for d in letters if d.key == "junk").original == b"\xffnot json"


def test_async_stages_run_on_the_bus_with_their_in_flight_limit() -> None:
    bus = InProcessBus([slow_async_stage(0.05, {})], max_in_flight=100)
    for i in range(200):
        bus.publish("permits.raw", *permit_json(i))
    bus.run_until_idle()
    bus.close()
    assert len(bus.drain(TOY_OUT)) == 200
