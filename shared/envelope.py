"""The CloudEvents 1.0 envelope of every recorded event, and its Kafka binary-mode binding."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import orjson
from cloudevents.core.bindings import kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from shared.events import parse_event_type

_FORMAT = JSONFormat()
CONTENT_TYPE = "application/json"


@dataclass(frozen=True)
class Envelope:
    """A recorded event: identity, place in its stream (and globally), lineage, and data."""

    id: str
    source: str
    type: str
    subject: str
    time: datetime
    stream_id: str
    stream_version: int
    correlation_id: str
    causation_id: str | None
    data: dict[str, Any] = field(default_factory=dict)
    position: int | None = None
    personal: tuple[str, ...] = ()  # paths in `data` holding a customer's personal data

    @property
    def service(self) -> str:
        return parse_event_type(self.type)[0]

    @property
    def name(self) -> str:
        return parse_event_type(self.type)[1]

    def at(self, position: int) -> "Envelope":
        return replace(self, position=position)


def source_of(service: str) -> str:
    return f"/servicetrail/{service}"


def to_kafka(env: Envelope) -> tuple[bytes, list[tuple[str, bytes]], bytes]:
    """(key, headers, value) in CloudEvents Kafka binary mode; the key is the subject."""
    attributes = {
        "id": env.id,
        "source": env.source,
        "type": env.type,
        "subject": env.subject,
        "time": env.time,
        "datacontenttype": CONTENT_TYPE,
        "correlationid": env.correlation_id,
        "streamid": env.stream_id,
        "streamversion": str(env.stream_version),
    }
    if env.causation_id:
        attributes["causationid"] = env.causation_id
    if env.personal:
        attributes["personaldata"] = ",".join(env.personal)
    # Data goes in already encoded (orjson): the binding passes bytes through unchanged.
    message = kafka.to_binary(CloudEvent(attributes, orjson.dumps(env.data)), _FORMAT, lambda _: env.subject)
    key = message.key.encode() if isinstance(message.key, str) else message.key
    return key, list(message.headers.items()), message.value


class MalformedMessage(ValueError):
    pass


def from_kafka(headers: Any, key: bytes | None, value: bytes | None) -> Envelope:
    """Parse a binary-mode record; anything not a valid CloudEvent of ours is MalformedMessage."""
    try:
        event = kafka.from_binary(kafka.KafkaMessage(dict(headers or ()), key, value or b""), _FORMAT)
        attrs = event.get_attributes()
        data = event.get_data()
        if not isinstance(data, dict):
            data = orjson.loads(data) if isinstance(data, (bytes, str)) else {}
        parse_event_type(attrs["type"])
        return Envelope(
            id=attrs["id"],
            source=attrs["source"],
            type=attrs["type"],
            subject=attrs.get("subject") or "",
            time=attrs["time"],
            stream_id=attrs["streamid"],
            stream_version=int(attrs["streamversion"]),
            correlation_id=attrs.get("correlationid") or attrs["id"],
            causation_id=attrs.get("causationid"),
            data=data,
            personal=tuple(p for p in (attrs.get("personaldata") or "").split(",") if p),
        )
    except MalformedMessage:
        raise
    except Exception as exc:  # the binding raises many kinds; all mean "not ours to apply"
        raise MalformedMessage(f"not a ServiceTrail CloudEvent: {exc!r}") from exc
