"""Records as an operator reads them: one line per event, personal values never shown."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiokafka import ConsumerRecord

from shared.envelope import Envelope, MalformedMessage, from_kafka
from shared.shredding.crypto import is_sealed

SEALED = "[sealed]"
_SHOWN = 4  # key fields on a line: the first few scalars of the event's data


@dataclass(frozen=True)
class Seen:
    """One record read: its place, and its event (or why it is none)."""

    topic: str
    partition: int
    offset: int
    timestamp: int  # the record's, in ms: the order records reached the broker in
    event: Envelope | MalformedMessage

    @classmethod
    def of(cls, record: ConsumerRecord) -> "Seen":
        try:
            event: Envelope | MalformedMessage = from_kafka(record.headers, record.key, record.value)
        except MalformedMessage as exc:
            event = exc
        return cls(record.topic, record.partition, record.offset, record.timestamp, event)

    def matches(self, type_: str | None, request: str | None) -> bool:
        if isinstance(self.event, MalformedMessage):
            return type_ is None and request is None
        if type_ is not None and type_ not in (self.event.name, self.event.type):
            return False
        return request is None or request in (self.event.subject, self.event.data.get("request_id"))

    def as_json(self) -> dict[str, Any]:
        place = {"topic": self.topic, "partition": self.partition, "offset": self.offset}
        if isinstance(self.event, MalformedMessage):
            return {**place, "error": str(self.event)}
        e = self.event
        return {**place, "id": e.id, "type": e.type, "name": e.name, "time": e.time.isoformat(),
                "subject": e.subject, "stream": e.stream_id, "version": e.stream_version,
                "correlation_id": e.correlation_id, "data": hidden(e.data)}

    def line(self) -> str:
        place = f"{self.topic}/{self.partition}@{self.offset}"
        if isinstance(self.event, MalformedMessage):
            return f"{place}  not an event of ours: {self.event}"
        e = self.event
        fields = [f"{k}={v}" for k, v in hidden(e.data).items() if not isinstance(v, (dict, list))][:_SHOWN]
        return f"{e.time.isoformat(timespec='seconds')}  {e.name:<22} {e.subject}  v{e.stream_version}  " \
               f"{place}  {' '.join(fields)}".rstrip()


def hidden(value: Any) -> Any:
    """`value` with each sealed personal value shown as `[sealed]` (a token says nothing useful)."""
    if isinstance(value, dict):
        return {k: hidden(v) for k, v in value.items()}
    if isinstance(value, list):
        return [hidden(v) for v in value]
    return SEALED if is_sealed(value) else value
