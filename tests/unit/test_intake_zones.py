"""Issue 12, symptom 6 (intake's side): every triage records the request's zone, so dispatch's
same-zone term can count; named by the client, else looked up from the location."""
from __future__ import annotations

from dataclasses import replace

from services.intake.domain import commands as cmd
from services.intake.domain.model import Rules, ServiceRequest
from services.intake.domain.priority import Level
from services.intake.domain.zones import ZoneMap
from shared.clock import FrozenClock
from shared.contracts.intake import registry

RULES = replace(Rules(), zones=ZoneMap({"Floor 2": "north", "Floor 2, east wing": "east", "Depot": "south"}))


def triaged_zone(location: str | None, zone: str | None = None) -> str | None:
    request = ServiceRequest.submit("r1", cmd.SubmitRequest(
        customer=cmd.CustomerDetails(id="c1", name="Ann"), channel="phone", kind="fault", title="Jams",
        description="Every page", urgency=Level.medium, impact=Level.medium, taken_by="agent-1",
        location=location, zone=zone), FrozenClock().now(), RULES)
    return request.triage.zone if request.triage else None


def test_the_zone_is_looked_up_from_the_location_by_the_longest_prefix_ignoring_case():
    assert triaged_zone("floor 2, room 12") == "north"
    assert triaged_zone("Floor 2, East Wing, room 3") == "east"
    assert triaged_zone("Depot") == "south"
    assert triaged_zone("Basement") is None and triaged_zone(None) is None


def test_a_zone_the_client_names_wins_over_the_location():
    assert triaged_zone("Floor 2", zone="west") == "west"


def test_a_retriage_after_the_location_changed_carries_the_new_zone():
    clock = FrozenClock()
    request = ServiceRequest.submit("r1", cmd.SubmitRequest(
        customer=cmd.CustomerDetails(id="c1", name="Ann"), channel="phone", kind="fault", title="Jams",
        description="Every page", urgency=Level.medium, impact=Level.medium, taken_by="agent-1",
        location="Floor 2"), clock.now(), RULES)
    request.update(cmd.UpdateRequest("r1", "agent", "moved", {"location": "Depot"}), clock.now())
    request.retriage(cmd.Retriage("r1", "agent", "moved"), clock.now(), RULES)
    assert request.triage is not None and request.triage.zone == "south"


def test_v1_records_without_a_zone_still_decode():
    v1 = {"request_id": "r1", "priority": "P3", "urgency": "medium", "impact": "medium", "kind": "fault",
          "channel": "phone", "category": None, "emergency": False, "received_at": "2026-03-02T10:00:00+00:00",
          "respond_by": "2026-03-03T10:00:00+00:00", "resolve_by": "2026-03-05T10:00:00+00:00",
          "sla": {"policy": "p", "respond": "1d", "resolve": "3d", "calendar": {}}, "triaged_by": "a",
          "needs_review": False, "triaged_at": "2026-03-02T10:00:00+00:00"}
    assert registry.decode("servicetrail.intake.RequestTriaged.v1", v1).zone is None
