"""Event classes, registry, upcasting, personal-data marks and the CloudEvents Kafka binding."""
from __future__ import annotations

from dataclasses import fields
from datetime import datetime, timezone
from typing import Annotated

import orjson
import pytest
from cloudevents.core.bindings import kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.contracts.intake import RequestReceived
from shared.contracts.intake import registry as intake_registry
from shared.envelope import Envelope, MalformedMessage, envelope_attributes, from_kafka, to_kafka
from shared.events import PERSONAL, DomainEvent, EventRegistry, UnknownEventType, parse_event_type

registry = EventRegistry("demo")


@registry.register
class ThingHappened(DomainEvent):
    version = 2
    request_id: str
    what: str
    who: Annotated[str, PERSONAL]


@registry.upcaster("ThingHappened", from_version=1)
def upcast_v1_v2(data: dict) -> dict:
    data["what"] = data.pop("description")
    data.setdefault("who", "unknown")
    return data


def test_events_are_frozen_and_reject_unknown_fields():
    event = ThingHappened(request_id="r1", what="x", who="Ann")
    with pytest.raises(ValidationError):
        event.what = "y"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        ThingHappened(request_id="r1", what="x", who="Ann", extra=1)


def test_the_type_names_service_event_and_schema_version():
    assert registry.type_of(ThingHappened(request_id="r", what="x", who="y")) == "servicetrail.demo.ThingHappened.v2"
    assert parse_event_type("servicetrail.intake.RequestReceived.v1") == ("intake", "RequestReceived", 1)


def test_an_old_payload_is_upcast_to_the_current_version_when_decoded():
    event = registry.decode("servicetrail.demo.ThingHappened.v1", {"request_id": "r1", "description": "fixed"})
    assert event == ThingHappened(request_id="r1", what="fixed", who="unknown")


def test_unknown_types_and_foreign_services_are_refused():
    with pytest.raises(UnknownEventType):
        registry.decode("servicetrail.demo.Nope.v1", {})
    with pytest.raises(UnknownEventType):
        registry.decode("servicetrail.other.ThingHappened.v2", {})
    with pytest.raises(UnknownEventType):
        parse_event_type("com.example.Thing")


def test_personal_fields_are_found_in_nested_models_too():
    assert ThingHappened.personal_fields() == ["who"]
    assert set(RequestReceived.personal_fields()) == {"customer.name", "customer.phone", "customer.email", "title",
                                                      "description", "location"}
    assert "customer.id" not in RequestReceived.personal_fields()
    assert intake_registry.service == "intake"


def envelope(**overrides) -> Envelope:
    values = dict(
        id="e1", source="/servicetrail/intake", type="servicetrail.intake.RequestReceived.v1", subject="r1",
        time=datetime(2026, 3, 1, 12, 30, tzinfo=timezone.utc), stream_id="request-r1", stream_version=3,
        correlation_id="c1", causation_id="k1", data={"a": 1, "nested": {"b": [1, 2]}},
    )
    values.update(overrides)
    return Envelope(**values)


def test_the_kafka_binding_is_cloudevents_binary_mode_keyed_by_subject():
    key, headers, value = to_kafka(envelope())
    names = dict(headers)
    assert key == b"r1"
    assert names["ce_specversion"] == b"1.0" and names["ce_id"] == b"e1"
    assert names["ce_type"] == b"servicetrail.intake.RequestReceived.v1"
    assert names["ce_subject"] == b"r1" and names["ce_source"] == b"/servicetrail/intake"
    assert names["ce_time"] == b"2026-03-01T12:30:00Z"
    assert names["ce_correlationid"] == b"c1" and names["ce_causationid"] == b"k1"
    assert names["ce_streamid"] == b"request-r1" and names["ce_streamversion"] == b"3"
    assert names["content-type"] == b"application/json"
    assert from_kafka(headers, key, value) == envelope()


def test_a_first_event_has_no_causation_header():
    _, headers, _ = to_kafka(envelope(causation_id=None))
    assert "ce_causationid" not in dict(headers)


@pytest.mark.parametrize(
    "headers, value",
    [((), b"{}"), ([("ce_id", b"1")], b"{}"), ([("ce_type", b"x"), ("ce_id", b"1"), ("ce_source", b"s"), ("ce_specversion", b"1.0")], b"{}")],
)
def test_records_that_are_not_our_cloudevents_are_malformed(headers, value):
    with pytest.raises(MalformedMessage):
        from_kafka(headers, b"k", value)


_text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)


@settings(max_examples=300, deadline=None)
@given(id_=_text, subject=_text, stream=_text, version=st.integers(1, 10**9), causation=st.none() | _text,
       personal=st.lists(st.sampled_from(["customer.name", "customer.email", "location"]), unique=True),
       time=st.datetimes(timezones=st.just(timezone.utc)),
       data=st.dictionaries(_text, st.none() | st.booleans() | st.integers(-10**6, 10**6) | _text, max_size=5),
       trace=st.none() | st.from_regex(r"00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]", fullmatch=True))
def test_the_relays_encoding_is_exactly_the_cloudevents_bindings(id_, subject, stream, version, causation, personal,
                                                                 time, data, trace):
    """to_kafka writes the headers itself (the binding validates every attribute again, ~15 us an
    event on the relay's hot path); the cloudevents binding is the reference it must equal."""
    env = envelope(id=id_, subject=subject, stream_id=stream, stream_version=version, causation_id=causation,
                   personal=tuple(personal), time=time, data=data, traceparent=trace)
    reference = kafka.to_binary(CloudEvent(envelope_attributes(env), orjson.dumps(env.data)), JSONFormat(),
                                lambda _: env.subject)
    key, headers, value = to_kafka(env)
    assert (key, headers, value) == (reference.key.encode(), list(reference.headers.items()), reference.value)
    assert from_kafka(headers, key, value) == env


def test_an_envelope_read_back_from_a_store_equals_the_one_its_constructor_makes():
    values = dict(id="e-1", source="/servicetrail/intake", type="servicetrail.intake.RequestReceived.v2",
                  subject="r-1", time=datetime(2026, 1, 1, tzinfo=timezone.utc), stream_id="request-r-1",
                  stream_version=3, correlation_id="c-1", causation_id=None, data={"title": "x"}, position=7,
                  personal=("title",), traceparent=None)
    stored, made = Envelope.stored(**values), Envelope(**values)
    assert stored == made and repr(stored) == repr(made)
    # Every field is set, the typed event's too: one added to the dataclass must be added there.
    assert {f.name: getattr(stored, f.name) for f in fields(Envelope)} == {**values, "event": None}
    with pytest.raises(AttributeError):
        stored.position = 8  # type: ignore[misc]  # as frozen as any other
