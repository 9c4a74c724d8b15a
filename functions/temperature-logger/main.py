"""temperature-logger: one structured log line per temperature reading.

A reading is JSON {"sensor_id": str, "temperature": number, "unit": "C",
"timestamp": ISO-8601 UTC}. Anything else is logged as rejected, with the reason, and the
function carries on (Nuclio acks the message either way, so raising would only lose it
silently).
"""
import datetime
import json
import math


class InvalidReading(ValueError):
    pass


def parse_reading(body):
    """Returns the reading as a dict, or raises InvalidReading saying what is wrong."""
    if isinstance(body, (bytes, bytearray)):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidReading("body is not UTF-8 text") from None
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError as e:
            raise InvalidReading(f"body is not JSON: {e.msg}") from None
    if not isinstance(body, dict):
        raise InvalidReading("reading must be a JSON object")
    sensor = body.get("sensor_id")
    if not isinstance(sensor, str) or not sensor:
        raise InvalidReading("sensor_id must be a non-empty string")
    value = body.get("temperature")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidReading("temperature must be a finite number")
    if body.get("unit") != "C":
        raise InvalidReading(f"unit must be 'C', got {body.get('unit')!r}")
    stamp = body.get("timestamp")
    try:
        parsed = datetime.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidReading(f"timestamp {stamp!r} is not ISO-8601") from None
    if parsed.utcoffset() != datetime.timedelta(0):
        raise InvalidReading(f"timestamp {stamp!r} is not in UTC")
    return {"sensor_id": sensor, "temperature": float(value), "unit": "C", "timestamp": stamp}


def handler(context, event):
    source = getattr(event, "path", "") or getattr(event, "topic", "") or ""
    try:
        reading = parse_reading(event.body)
    except InvalidReading as e:
        body = event.body
        preview = body[:200] if isinstance(body, (bytes, str)) else str(body)[:200]
        context.logger.warn_with("reading rejected", reason=str(e), source=source,
                                 body=preview.decode("utf-8", "replace")
                                 if isinstance(preview, bytes) else preview)
        return
    context.logger.info_with("reading", sensor_id=reading["sensor_id"],
                             temperature=reading["temperature"], unit=reading["unit"],
                             timestamp=reading["timestamp"], source=source)
