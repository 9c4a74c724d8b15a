"""The device simulator's pure parts (its publishing is tested against a real broker)."""
import json

from tools.device_simulator import endpoint_from_outputs, mqtt_to_routing_key, run

OUTPUTS = {"mqttEndpoint": "mqtt://127.0.0.1:1884", "mqttUsername": "iot",
           "mqttPassword": "pw-1234567890", "amqpUrl": "amqp://iot:pw-1234567890@127.0.0.1:5673"}


def test_endpoints_come_from_stack_outputs_and_hide_the_password() -> None:
    mqtt = endpoint_from_outputs(OUTPUTS, "mqtt")
    amqp = endpoint_from_outputs(OUTPUTS, "amqp")
    assert (mqtt.host, mqtt.port, mqtt.username, mqtt.password) == \
        ("127.0.0.1", 1884, "iot", "pw-1234567890")
    assert (amqp.port, amqp.password) == (5673, "pw-1234567890")
    assert "pw-1234567890" not in repr(mqtt)


def test_topic_mapping() -> None:
    assert mqtt_to_routing_key("iot/sensors/temperature") == "iot.sensors.temperature"


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict]] = []

    def publish(self, topic: str, body: bytes) -> None:
        self.sent.append((topic, json.loads(body)))

    def wait(self, seconds: float) -> None:
        pass

    def close(self) -> int:
        return len(self.sent)


def test_run_publishes_count_readings_round_robin() -> None:
    rec = Recorder()
    summary = run(rec, ["a", "b"], 5, 0, "iot/sensors/temperature", seed=1)
    assert (summary.sent, summary.confirmed) == (5, 5)
    assert [r["sensor_id"] for _, r in rec.sent] == ["a", "b", "a", "b", "a"]
    assert [r["seq"] for _, r in rec.sent] == [0, 1, 2, 3, 4]
    assert all(r["unit"] == "C" and r["timestamp"].endswith("Z") for _, r in rec.sent)
