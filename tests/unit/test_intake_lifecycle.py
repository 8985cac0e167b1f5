"""Issue 12: one lifecycle. The aggregate is held to the state x command table exhaustively (every
command and every outside fact in every reachable state), and the README shows that same table."""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from services.intake.domain import commands as cmd
from services.intake.domain.lifecycle import COMMANDS, FACTS, FINAL, Status, after_fact, command_allowed
from services.intake.domain.model import ServiceRequest
from services.intake.domain.priority import Level
from shared.clock import FrozenClock
from shared.contracts.intake import registry
from shared.errors import InvalidTransition
from tests.unit.test_intake_state_machine import RULES, submit

README = Path(__file__).resolve().parents[2] / "README.md"
S = Status
# The table as the issue asks for it, written out here independently of lifecycle.py.
EXPECTED = {
    "acknowledge": {S.triaged, S.reopened, S.allocated, S.in_progress, S.paused},
    "triage": {S.triaged, S.acknowledged, S.allocated, S.in_progress, S.paused, S.reopened},
    "withdraw": {S.triaged, S.acknowledged, S.allocated, S.in_progress, S.paused, S.reopened},
    "merge": {S.triaged, S.acknowledged, S.allocated, S.in_progress, S.paused, S.reopened},
    "reopen": {S.allocated, S.in_progress, S.paused, S.resolved},
    "take ownership of": {S.triaged, S.acknowledged, S.allocated, S.in_progress, S.paused, S.reopened},
    "record a contact on": set(Status),
}


def opened(clock: FrozenClock) -> ServiceRequest:
    """As `submit`, keeping its events: the test rebuilds the request from all of them."""
    return ServiceRequest.submit("r1", cmd.SubmitRequest(
        customer=cmd.CustomerDetails(id="c1", name="Ann"), channel="phone", kind="fault", title="Printer jams",
        description="Every page", urgency=Level.medium, impact=Level.medium, taken_by="agent-1", category="fault"),
        clock.now(), RULES)


def run(request: ServiceRequest, clock: FrozenClock, action: str, other: ServiceRequest) -> None:
    now = clock.now()
    rid = request.id
    if action == "acknowledge":
        request.acknowledge(cmd.Acknowledge(rid, "agent"), now)
    elif action == "triage":
        request.retriage(cmd.Retriage(rid, "agent", urgency=None, impact=None, category=None, reason="again"), now, RULES)
    elif action == "confirm the need of":
        request.confirm_need(cmd.ConfirmNeed(rid, "agent", what="a fix"), now)
    elif action == "update":
        request.update(cmd.UpdateRequest(rid, "agent", "typo", {"title": f"T {now.isoformat()}"}), now)
    elif action == "withdraw":
        request.withdraw(cmd.Withdraw(rid, "agent", "no longer needed"), now)
    elif action == "merge":
        request.merge_into(other, cmd.Merge(rid, other.id, "agent", "duplicate"), now)
    elif action == "reopen":
        request.reopen(cmd.Reopen(rid, "still broken", now), now)
    elif action == "take ownership of":
        request.take_ownership(cmd.TakeOwnership(rid, f"agent-{now.isoformat()}"), now)
    elif action == "record a contact on":
        request.record_contact(cmd.RecordContact(rid, "agent", via="phone", direction="outbound", summary="called"), now)
    else:
        raise AssertionError(action)


steps = st.lists(st.sampled_from(sorted(COMMANDS) + sorted(FACTS)), min_size=1, max_size=25)


@settings(max_examples=400, deadline=None)
@given(steps)
def test_every_command_and_fact_in_every_reachable_state_follows_the_table(sequence: list[str]):
    clock = FrozenClock()
    request, other = opened(clock), submit(clock, request_id="r2")
    history = request.take_pending()
    for step in sequence:
        clock.advance(minutes=7)
        before, acknowledged = request.status, request.acknowledged is not None
        if step in FACTS:
            moved = request.progress(cmd.FollowFact(request.id, step, f"servicetrail.{step}.v1", "e", clock.now()),
                                     clock.now())
            expected = after_fact(step, before, acknowledged)
            assert moved == (expected is not None)
            assert request.status is (expected or before)
            if before in FINAL:
                assert not moved, f"{step} moved a {before.value} request"
            continue
        allowed = command_allowed(step, before, acknowledged)
        if step in EXPECTED:
            assert allowed == (before in EXPECTED[step] and not (step == "acknowledge" and acknowledged
                                                               and before not in (S.triaged, S.reopened)))
        try:
            run(request, clock, step, other)
        except InvalidTransition as exc:
            assert not allowed, f"{step} refused in {before.value}: {exc}"
            assert before.value in str(exc)  # the 409 names the state
        else:
            assert allowed, f"{step} accepted in {before.value}"
    events = history + request.take_pending()
    rebuilt = ServiceRequest.rehydrate(events, version=len(events))
    assert rebuilt.status is request.status


def test_a_fact_older_than_the_latest_never_overrides_it():
    clock = FrozenClock()
    request = submit(clock)
    started, paused = clock.now() + timedelta(minutes=1), clock.now() + timedelta(minutes=2)
    fact = lambda name, at: cmd.FollowFact("r1", name, f"servicetrail.{name}.v1", "e", at)  # noqa: E731
    assert request.progress(fact("dispatch.ResourceAllocated", started), clock.now())
    assert request.progress(fact("dispatch.WorkPaused", paused), clock.now())
    assert not request.progress(fact("dispatch.WorkStarted", started), clock.now())  # arrived late
    assert request.status is S.paused


def test_the_readme_table_is_the_lifecycle_table():
    rows = {}
    for line in README.read_text().splitlines():
        if m := re.match(r"^\| `(?P<command>[a-z ]+)` \|(?P<cells>.*)\|$", line):
            rows[m["command"]] = [c.strip() for c in m["cells"].split("|")]
    header = next(line for line in README.read_text().splitlines() if line.startswith("| command |"))
    states = [c.strip().strip("`") for c in header.split("|")[2:-1]]
    assert states == [s.value for s in Status]
    for action, allowed in COMMANDS.items():
        marks = dict(zip(states, rows[action], strict=True))
        assert {s for s, m in marks.items() if m != "—"} == {s.value for s in allowed}, action


def test_a_v1_reopening_recorded_before_v2_still_folds():
    """RequestReopened v2 added `rejected_at`; a stream holding the v1 record still rebuilds."""
    clock = FrozenClock()
    request = opened(clock)
    history = request.take_pending()
    v1 = {"request_id": "r1", "reason": "still broken", "reopen_count": 1, "reopened_at": clock.now().isoformat()}
    reopened = registry.decode("servicetrail.intake.RequestReopened.v1", v1)
    rebuilt = ServiceRequest.rehydrate([*history, reopened], version=len(history) + 1)
    assert (rebuilt.status, rebuilt.reopen_count, rebuilt.progress_at) == (S.reopened, 1, clock.now())
