"""Event classes, registry, upcasting, personal-data marks and the CloudEvents Kafka binding."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

import pytest
from pydantic import ValidationError

from shared.contracts.intake import RequestReceived
from shared.contracts.intake import registry as intake_registry
from shared.envelope import Envelope, MalformedMessage, from_kafka, to_kafka
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
    assert set(RequestReceived.personal_fields()) == {"customer.name", "customer.phone", "customer.email", "location"}
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
