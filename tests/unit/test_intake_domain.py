"""Intake's pure domain: priority matrix, SLA targets, the request aggregate."""
from __future__ import annotations

from datetime import timedelta
from itertools import product

import pytest

from services.intake.domain.commands import CustomerDetails, SubmitRequest
from services.intake.domain.events import RequestReceived, RequestTriaged
from services.intake.domain.model import ServiceRequest
from services.intake.domain.priority import DEFAULT_MATRIX, DEFAULT_POLICY, Level, Priority, prioritise
from shared.clock import FrozenClock


@pytest.mark.parametrize(
    "urgency, impact, expected",
    [("high", "high", "P1"), ("high", "medium", "P2"), ("medium", "high", "P2"), ("medium", "medium", "P3"),
     ("high", "low", "P3"), ("low", "high", "P3"), ("medium", "low", "P4"), ("low", "low", "P4")],
)
def test_urgency_and_impact_map_to_a_priority(urgency, impact, expected):
    assert prioritise(Level(urgency), Level(impact)) is Priority(expected)


def test_the_default_matrix_covers_every_combination_and_is_monotonic():
    order = [Level.low, Level.medium, Level.high]
    assert set(DEFAULT_MATRIX) == set(product(Level, Level))
    rank = {Priority.P1: 1, Priority.P2: 2, Priority.P3: 3, Priority.P4: 4}
    for u, i in product(range(2), range(3)):
        assert rank[prioritise(order[u + 1], order[i])] <= rank[prioritise(order[u], order[i])]


def command(urgency: str = "high", impact: str = "high") -> SubmitRequest:
    return SubmitRequest(
        customer=CustomerDetails(id="c1", name="Ann"), channel="phone", kind="fault", title="t",
        description="d", urgency=Level(urgency), impact=Level(impact), taken_by="agent-1",
    )


def test_a_submitted_request_is_received_then_triaged_with_its_targets():
    clock = FrozenClock()
    request = ServiceRequest.submit("r1", command("medium", "medium"), clock.now())
    received, triaged = request.take_pending()
    assert isinstance(received, RequestReceived) and isinstance(triaged, RequestTriaged)
    assert received.owner == "agent-1" and received.received_at == clock.now()
    assert triaged.priority == "P3" and not triaged.emergency
    assert triaged.respond_by == clock.now() + timedelta(hours=24)
    assert triaged.sla.policy == DEFAULT_POLICY.name and triaged.sla.respond_minutes == 24 * 60
    assert request.status == "triaged"


def test_a_p1_takes_the_emergency_fast_track():
    request = ServiceRequest.submit("r1", command(), FrozenClock().now())
    assert request.triage is not None and request.triage.emergency and request.triage.priority == "P1"


def test_a_request_rebuilt_from_its_events_has_the_same_state():
    original = ServiceRequest.submit("r1", command(), FrozenClock().now())
    events = original.take_pending()
    rebuilt = ServiceRequest.rehydrate(events, version=2)
    assert (rebuilt.id, rebuilt.status, rebuilt.triage, rebuilt.version) == ("r1", "triaged", original.triage, 2)
