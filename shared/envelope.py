"""The CloudEvents 1.0 envelope of every recorded event, and its Kafka binary-mode binding."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Sequence

import orjson
from cloudevents.core.bindings import kafka
from cloudevents.core.formats.json import JSONFormat

from shared.errors import EventTooLarge
from shared.events import DomainEvent, parse_event_type

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
    # The W3C trace context the event was recorded in (CloudEvents' distributed tracing extension).
    traceparent: str | None = None
    # The typed contract of `data` (shared.contracts), once a consumer has decoded it; never sent.
    event: DomainEvent | None = field(default=None, compare=False, repr=False)

    @property
    def service(self) -> str:
        return parse_event_type(self.type)[0]

    @property
    def name(self) -> str:
        return parse_event_type(self.type)[1]

    def at(self, position: int) -> "Envelope":
        return replace(self, position=position)

    @classmethod
    def stored(cls, id: str, source: str, type: str, subject: str, time: datetime, stream_id: str,
               stream_version: int, correlation_id: str, causation_id: str | None, data: dict[str, Any],
               position: int | None, personal: tuple[str, ...], traceparent: str | None) -> "Envelope":
        """`Envelope(...)` with every field given, for an event read back from a store, in under half
        the time: a frozen dataclass's __init__ sets each field through object.__setattr__, and
        reading events (a rebuild, a relay batch, an aggregate's stream) makes one per event."""
        env = _new(cls)
        env.__dict__.update(id=id, source=source, type=type, subject=subject, time=time, stream_id=stream_id,
                            stream_version=stream_version, correlation_id=correlation_id,
                            causation_id=causation_id, data=data, position=position, personal=personal,
                            traceparent=traceparent, event=None)
        return env


_new = object.__new__


def source_of(service: str) -> str:
    return f"/servicetrail/{service}"


def envelope_attributes(env: Envelope) -> dict[str, Any]:
    """The CloudEvents attributes of `env` (extensions included), in the order they are sent."""
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
    if env.traceparent:
        attributes["traceparent"] = env.traceparent
    return attributes


def to_kafka(env: Envelope) -> tuple[bytes, list[tuple[str, bytes]], bytes]:
    """(key, headers, value) in CloudEvents Kafka binary mode; the key is the subject.

    Written here rather than through `cloudevents.core.bindings.kafka.to_binary`, which builds and
    validates a CloudEvent first: ~18 us an event against ~2 us, on the relay's hot path, which
    shares the API's event loop. The binding stays the reference: a property test holds this
    output byte for byte equal to its own, and `from_kafka` reads records with it."""
    headers = [("ce_id", env.id.encode()), ("ce_source", env.source.encode()), ("ce_type", env.type.encode()),
               ("ce_subject", env.subject.encode()), ("ce_time", _time(env.time)),
               ("content-type", _CONTENT_TYPE), ("ce_correlationid", env.correlation_id.encode()),
               ("ce_streamid", env.stream_id.encode()), ("ce_streamversion", str(env.stream_version).encode())]
    if env.causation_id:
        headers.append(("ce_causationid", env.causation_id.encode()))
    if env.personal:
        headers.append(("ce_personaldata", ",".join(env.personal).encode()))
    if env.traceparent:
        headers.append(("ce_traceparent", env.traceparent.encode()))
    headers.append(("ce_specversion", b"1.0"))
    return env.subject.encode(), headers, orjson.dumps(env.data)


_CONTENT_TYPE = CONTENT_TYPE.encode()


def _time(at: datetime) -> bytes:
    """As the binding writes a time: ISO 8601, UTC as "Z"."""
    text = at.isoformat()
    return (text[:-6] + "Z" if text.endswith("+00:00") else text).encode()


_TIME_MAX = len("2026-03-02T10:00:00.000000+00:00")  # the longest form the binding writes a time in
_FIXED = len("ce_specversion") + len("1.0") + len("content-type") - len("ce_datacontenttype")


def encoded_size(env: Envelope) -> int:
    """The bytes of the key, headers and value `to_kafka` makes of `env`, counting the time at its
    longest. Worked out rather than encoded: appends check every event, and the binding costs
    ~30 us an event where this costs ~1 us."""
    headers = sum(len("ce_") + len(name) + (_TIME_MAX if name == "time" else len(str(value).encode()))
                  for name, value in envelope_attributes(env).items())
    return len(env.subject.encode()) + headers + _FIXED + len(orjson.dumps(env.data))


def check_fits(events: Sequence[Envelope], max_bytes: int, unstamped: int = 0) -> None:
    """Raise EventTooLarge, naming the heaviest field of its data, for the first event larger
    than `max_bytes` as the relay would send it (Kafka refuses it, and the relay would retry it
    for good, holding back every event after it). `unstamped`: bytes the append adds yet."""
    for env in events:
        if (size := encoded_size(env) + unstamped) > max_bytes:
            heaviest = max(env.data, key=lambda k: len(orjson.dumps(env.data[k])), default=None)
            raise EventTooLarge(env.type, heaviest or "event", size, max_bytes)


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
            traceparent=attrs.get("traceparent") or None,
        )
    except MalformedMessage:
        raise
    except Exception as exc:  # the binding raises many kinds; all mean "not ours to apply"
        raise MalformedMessage(f"not a ServiceTrail CloudEvent: {exc!r}") from exc
