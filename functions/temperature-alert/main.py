"""temperature-alert: a reading above ALERT_THRESHOLD_C becomes an alert over MQTT.

Alert JSON: {"sensor_id", "temperature", "threshold", "unit", "reading_timestamp",
"raised_at", "source_topic"} on ALERT_TOPIC (default iot/alerts/temperature), QoS 1.
"""
import datetime
import json
import math
import os
import socket
import threading
import time
import uuid

import paho.mqtt.client as mqtt


def read_temperature(body):
    """Returns (sensor_id, temperature, timestamp) or raises ValueError with the reason."""
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        body = json.loads(body)
    if not isinstance(body, dict):
        raise ValueError("reading must be a JSON object")
    value = body.get("temperature")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError("temperature must be a finite number")
    sensor = body.get("sensor_id")
    if not isinstance(sensor, str) or not sensor:
        raise ValueError("sensor_id must be a non-empty string")
    return sensor, float(value), body.get("timestamp")


def make_alert(sensor, value, threshold, timestamp, topic):
    now = datetime.datetime.now(datetime.timezone.utc)
    return {"sensor_id": sensor, "temperature": value, "threshold": threshold, "unit": "C",
            "reading_timestamp": timestamp, "source_topic": topic,
            "raised_at": now.isoformat(timespec="milliseconds").replace("+00:00", "Z")}


def init_context(context):
    # One publisher per worker, its own client id (two ids alike would kick each other off).
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                         client_id=f"alert-{socket.gethostname()}-{uuid.uuid4().hex[:8]}")
    client.username_pw_set(os.environ["BROKER_USERNAME"], os.environ["BROKER_PASSWORD"])
    client.reconnect_delay_set(min_delay=1, max_delay=10)
    # Set on the first answer, good or bad, so a refused connection does not hold the worker.
    connected = threading.Event()
    client.on_connect = lambda c, u, flags, reason, props: connected.set()
    client.on_connect_fail = lambda c, u: connected.set()
    client.connect_async(os.environ["BROKER_HOST"], int(os.environ.get("BROKER_MQTT_PORT", "1883")))
    client.loop_start()  # paho reconnects by itself from here on
    connected.wait(10)
    if not client.is_connected():
        context.logger.warn("MQTT broker not reachable yet; alerts queue until it is")
    context.user_data.mqtt = client
    context.user_data.threshold = float(os.environ.get("ALERT_THRESHOLD_C", "30"))
    context.user_data.topic = os.environ.get("ALERT_TOPIC", "iot/alerts/temperature")


def handler(context, event):
    data = context.user_data
    # nuclio#3170: some versions leave event.topic empty; the topic is then in event.path.
    source = getattr(event, "topic", "") or getattr(event, "path", "") or ""
    try:
        sensor, value, stamp = read_temperature(event.body)
    except ValueError as e:
        context.logger.warn_with("reading rejected", reason=str(e), source=source)
        return
    if value <= data.threshold:
        return
    alert = make_alert(sensor, value, data.threshold, stamp, source)
    info = data.mqtt.publish(data.topic, json.dumps(alert), qos=1)
    context.logger.warn_with("temperature alert", sensor_id=sensor, temperature=value,
                             threshold=data.threshold, published=wait_published(info, 10))


def wait_published(info, timeout):
    """True once the broker acked the alert. While disconnected paho keeps QoS 1 messages
    queued and sends them on reconnect, so False means 'queued', not 'lost'."""
    deadline = time.monotonic() + timeout
    while not info.is_published() and time.monotonic() < deadline:
        time.sleep(0.01)
    return info.is_published()
