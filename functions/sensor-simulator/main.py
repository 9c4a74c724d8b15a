"""sensor-simulator: each cron tick publishes one reading per simulated sensor over AMQP.

The pika connection is made once per worker in init_context and made again when it
drops (broker restart), so a tick never fails for a connection that went stale.
"""
import datetime
import json
import os
import random

import pika
import pika.exceptions

EXCHANGE = "amq.topic"


class AmqpPublisher:
    """Publishes persistent messages with publisher confirms; reconnects when needed."""

    def __init__(self, url, exchange=EXCHANGE):
        self.params = pika.URLParameters(url)
        self.exchange = exchange
        self.connection = None
        self.channel = None

    def _connect(self):
        self.connection = pika.BlockingConnection(self.params)
        self.channel = self.connection.channel()
        self.channel.confirm_delivery()

    def publish(self, routing_key, body):
        for attempt in (1, 2):
            try:
                if self.channel is None or self.channel.is_closed:
                    self._connect()
                self.channel.basic_publish(
                    self.exchange, routing_key, body,
                    pika.BasicProperties(content_type="application/json", delivery_mode=2))
                return
            except (pika.exceptions.AMQPConnectionError, pika.exceptions.ChannelClosed,
                    pika.exceptions.StreamLostError):
                self.close()
                if attempt == 2:
                    raise

    def close(self):
        try:
            if self.connection is not None and self.connection.is_open:
                self.connection.close()
        except pika.exceptions.AMQPError:
            pass
        self.connection = self.channel = None


def make_reading(sensor_id, rng, now=None):
    now = now or datetime.datetime.now(datetime.timezone.utc)
    # A base around 22 C with noise, and now and then a hot spike that should alert.
    value = rng.gauss(22.0, 2.0) + (15.0 if rng.random() < 0.1 else 0.0)
    return {"sensor_id": sensor_id, "temperature": round(value, 2), "unit": "C",
            "timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z")}


def init_context(context):
    context.user_data.publisher = AmqpPublisher(os.environ["BROKER_AMQP_URL"])
    context.user_data.sensors = [s.strip() for s in os.environ.get("SENSOR_IDS", "").split(",")
                                 if s.strip()] or ["sensor-1"]
    context.user_data.routing_key = os.environ.get("READINGS_ROUTING_KEY",
                                                   "iot.sensors.temperature")
    context.user_data.rng = random.Random()


def handler(context, event):
    data = context.user_data
    for sensor in data.sensors:
        reading = make_reading(sensor, data.rng)
        data.publisher.publish(data.routing_key, json.dumps(reading).encode())
    context.logger.info_with("published readings", count=len(data.sensors),
                             routing_key=data.routing_key)
    return len(data.sensors)
