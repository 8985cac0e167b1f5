"""Personal data marks travel with events and are withheld from roles that need not see them."""
from __future__ import annotations

from shared.envelope import from_kafka, to_kafka
from shared.privacy import mask
from tests.unit.test_events_and_envelope import envelope


def test_masking_withholds_each_marked_value_and_says_which():
    data = {"customer": {"id": "c1", "name": "Ann", "phone": None}, "location": "Flat 2", "title": "t"}
    masked, hidden = mask(data, ["customer.name", "customer.phone", "location", "missing.path"])
    assert masked == {"customer": {"id": "c1", "name": None, "phone": None}, "location": None, "title": "t"}
    assert hidden == ["customer.name", "location"]  # nothing to hide in an empty phone or a missing path
    assert data["customer"]["name"] == "Ann"  # the original is untouched


def test_the_personal_paths_travel_as_a_cloudevents_extension():
    env = envelope(personal=("customer.name", "location"))
    key, headers, value = to_kafka(env)
    assert dict(headers)["ce_personaldata"] == b"customer.name,location"
    assert from_kafka(headers, key, value).personal == ("customer.name", "location")
    assert "ce_personaldata" not in dict(to_kafka(envelope())[1])
