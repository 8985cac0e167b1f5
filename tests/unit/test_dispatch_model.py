"""Dispatch's aggregates: the job's state machine, holder, SLA timers and escalation; resources; skill maps."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Callable

import pytest
from pydantic import ValidationError

from services.dispatch.domain.model import Job
from services.dispatch.domain.resources import Resource
from services.dispatch.domain.skills import SkillMap
from shared.calendar import BusinessCalendar
from shared.clock import FrozenClock
from shared.contracts import dispatch as ev
from shared.contracts import intake
from shared.errors import Invalid, InvalidTransition

UTC = timezone.utc
SHARE = 0.75
ALWAYS_SPEC = BusinessCalendar.always_open().to_spec()
WEEKDAY_SPEC = {
    "name": "office",
    "timezone": "UTC",
    "hours": {day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")},
}
WEEKDAYS = BusinessCalendar.from_spec(WEEKDAY_SPEC)
# January 2026: Monday 5th 09:00 UTC is FrozenClock's default start; Friday 9th; Saturday 10th; Monday 12th.
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def jan(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def job_data(priority: str = "P3", *, emergency: bool = False, received_at: datetime = T0,
             respond_by: datetime | None = None, resolve_by: datetime | None = None,
             calendar: dict | None = None, category: str = "fault > facilities > plumbing",
             triaged_at: datetime | None = None, zone: str | None = None) -> intake.RequestTriaged:
    """Intake's RequestTriaged, typed as its contract says (the calendar travels in `sla`)."""
    return intake.RequestTriaged(
        request_id="req-1", priority=priority, urgency="medium", impact="medium", kind="fault", channel="phone",
        category=category, emergency=emergency, zone=zone, received_at=received_at,
        respond_by=respond_by or received_at + hours(4), resolve_by=resolve_by or received_at + hours(24),
        sla=intake.SlaTargets(policy="test", respond="4h", resolve="24h", calendar=calendar or ALWAYS_SPEC),
        triaged_by="agent-1", needs_review=False, triaged_at=triaged_at or received_at)


def open_job(clock: FrozenClock, priority: str = "P3", **kwargs) -> Job:
    return Job.open(job_data(priority, emergency=priority == "P1", **kwargs), ["repair"], clock.now())


def moved(clock: FrozenClock, instant: datetime) -> datetime:
    clock.set(instant)
    return instant


def names(events: list) -> list[str]:
    return [type(e).event_name() for e in events]


# --- the state machine ----------------------------------------------------------------------------

STATUSES = ("open", "awaiting_approval", "allocated", "accepted", "in_progress", "paused", "resolved", "released")


def job_in(status: str, clock: FrozenClock) -> Job:
    """A P3 job on a 24x7 calendar brought to `status`; its holder (if any) is "r1", its pending partner "p1"."""
    job = open_job(clock)
    clock.advance(minutes=1)
    if status == "awaiting_approval":
        job.request_allocation("p1", "mgr", "partner work needs approval", clock.now())
    elif status == "released":
        job.release("cancelled", clock.now())
    elif status != "open":
        job.allocate("r1", "greedy", None, 1, "dispatch", None, clock.now())
        clock.advance(minutes=1)
        if status == "accepted":
            job.accept("r1", clock.now())
        elif status in ("in_progress", "paused", "resolved"):
            job.start("r1", clock.now())
            clock.advance(minutes=1)
            if status == "paused":
                job.pause("customer", None, clock.now())
            elif status == "resolved":
                job.resolve("r1", "fixed", "replaced the washer", clock.now())
    assert job.status == status
    job.take_pending()
    clock.advance(minutes=1)
    return job


COMMANDS: dict[str, Callable[[Job, datetime], None]] = {
    "accept": lambda job, now: job.accept("r1", now),
    "start": lambda job, now: job.start("r1", now),
    "resolve": lambda job, now: job.resolve("r1", "fixed", "done", now),
    "pause": lambda job, now: job.pause("customer", "waiting on access", now),
    "resume": lambda job, now: job.resume(now),
    "decline": lambda job, now: job.decline("r1", "too far", now),
    "approve": lambda job, now: job.approve("mgr", now),
    "reopen": lambda job, now: job.reopen("still leaking", now, now),
    "release": lambda job, now: job.release("cancelled", now),
    "allocate": lambda job, now: job.allocate("r2", "manual", None, 0, "mgr", "reassigned", now),
    "request_allocation": lambda job, now: job.request_allocation("p2", "mgr", "partner", now),
}

LIVE = ("open", "awaiting_approval", "allocated", "accepted", "in_progress", "paused")
ALLOWED: dict[tuple[str, str], tuple[list[str], str]] = {
    ("allocated", "accept"): (["AllocationAccepted"], "accepted"),
    ("allocated", "start"): (["WorkStarted"], "in_progress"),
    ("accepted", "start"): (["WorkStarted"], "in_progress"),
    ("in_progress", "resolve"): (["IssueResolved"], "resolved"),
    ("in_progress", "pause"): (["WorkPaused"], "paused"),
    ("paused", "resume"): (["WorkResumed"], "in_progress"),
    ("allocated", "decline"): (["AllocationDeclined"], "open"),
    ("accepted", "decline"): (["AllocationDeclined"], "open"),
    ("awaiting_approval", "approve"): (["AllocationApproved", "ResourceAllocated"], "allocated"),
    ("resolved", "reopen"): (["JobReopened"], "open"),
    **{(status, "release"): (["JobReleased"], "released") for status in LIVE},
    **{(status, "allocate"): (["ResourceAllocated"], "allocated") for status in LIVE},
    **{(status, "request_allocation"): (["AllocationRequested"], "awaiting_approval")
       for status in ("open", "allocated", "accepted")},
}
CASES = [(status, command) for status in STATUSES for command in COMMANDS]


@pytest.mark.parametrize(("status", "command"), [c for c in CASES if c in ALLOWED])
def test_an_allowed_command_records_its_events_and_moves_the_job_to_its_next_status(status, command):
    clock = FrozenClock()
    job = job_in(status, clock)
    COMMANDS[command](job, clock.now())
    expected_events, expected_status = ALLOWED[(status, command)]
    assert names(job.take_pending()) == expected_events
    assert job.status == expected_status


@pytest.mark.parametrize(("status", "command"), [c for c in CASES if c not in ALLOWED])
def test_a_disallowed_command_raises_invalid_transition_naming_the_status_and_changes_nothing(status, command):
    clock = FrozenClock()
    job = job_in(status, clock)
    with pytest.raises(InvalidTransition, match=f"it is {status}$"):
        COMMANDS[command](job, clock.now())
    assert job.status == status
    assert not job.changed


def test_the_transition_table_covers_every_status_and_command():
    assert len(CASES) == len(STATUSES) * len(COMMANDS) == 88
    assert {s for s, _ in ALLOWED} == set(STATUSES) - {"released"}  # released is final


@pytest.mark.parametrize(("status", "command"), [
    ("allocated", "accept"), ("allocated", "start"), ("accepted", "start"),
    ("allocated", "decline"), ("accepted", "decline"), ("in_progress", "resolve"),
])
def test_only_the_holder_may_accept_start_decline_or_resolve(status, command):
    clock = FrozenClock()
    job = job_in(status, clock)
    act = {
        "accept": lambda: job.accept("r9", clock.now()),
        "start": lambda: job.start("r9", clock.now()),
        "decline": lambda: job.decline("r9", "not mine", clock.now()),
        "resolve": lambda: job.resolve("r9", "fixed", "done", clock.now()),
    }[command]
    with pytest.raises(InvalidTransition, match="not allocated to r9"):
        act()
    assert (job.status, job.holder, job.changed) == (status, "r1", False)


def test_resolving_a_job_that_was_never_started_is_refused():
    for status in ("allocated", "accepted"):
        clock = FrozenClock()
        job = job_in(status, clock)
        with pytest.raises(InvalidTransition, match=f"cannot resolve job req-1: it is {status}"):
            job.resolve("r1", "fixed", "done", clock.now())


def test_resolving_a_paused_job_is_refused_until_it_resumes():
    clock = FrozenClock()
    job = job_in("paused", clock)
    with pytest.raises(InvalidTransition, match="it is paused"):
        job.resolve("r1", "fixed", "done", clock.now())
    job.resume(clock.advance(minutes=5))
    job.resolve("r1", "fixed", "done", clock.advance(minutes=5))
    assert job.status == "resolved"


@pytest.mark.parametrize(("status", "holder"), [
    ("open", None), ("awaiting_approval", None), ("allocated", "r1"), ("accepted", "r1"),
    ("in_progress", "r1"), ("paused", "r1"), ("resolved", None), ("released", None),
])
def test_the_holder_is_the_resource_only_while_the_job_takes_its_capacity(status, holder):
    assert job_in(status, FrozenClock()).holder == holder


def test_the_resource_is_kept_on_record_after_resolving_but_no_longer_held():
    job = job_in("resolved", FrozenClock())
    assert (job.resource_id, job.holder) == ("r1", None)


def test_a_release_names_the_holder_it_frees():
    clock = FrozenClock()
    held, unheld = job_in("accepted", clock), job_in("open", clock)
    held.release("cancelled", clock.now())
    unheld.release("cancelled", clock.now())
    assert held.take_pending()[0].resource_id == "r1"
    assert unheld.take_pending()[0].resource_id is None


# --- declining and reallocating -------------------------------------------------------------------


def test_a_decline_records_the_decliner_reopens_the_job_and_lets_someone_else_take_it():
    clock = FrozenClock()
    job = job_in("accepted", clock)
    job.decline("r1", "out of parts", clock.now())
    assert (job.status, job.holder, job.resource_id, job.declined_by) == ("open", None, None, {"r1"})
    job.allocate("r2", "greedy", {"skill": 1.0}, 3, "dispatch", None, clock.advance(minutes=1))
    allocated = job.take_pending()[-1]
    assert isinstance(allocated, ev.ResourceAllocated)
    assert (allocated.resource_id, allocated.previous_resource_id) == ("r2", None)
    assert (job.status, job.holder, job.declined_by) == ("allocated", "r2", {"r1"})


def test_allocating_a_job_to_the_resource_that_already_holds_it_is_refused():
    clock = FrozenClock()
    job = job_in("allocated", clock)
    with pytest.raises(InvalidTransition, match="already allocated to r1"):
        job.allocate("r1", "manual", None, 0, "mgr", None, clock.now())
    assert not job.changed


def test_reallocating_a_held_job_names_the_previous_resource():
    clock = FrozenClock()
    job = job_in("in_progress", clock)
    job.allocate("r2", "manual", None, 0, "mgr", "swap", clock.now())
    allocated = job.take_pending()[0]
    assert (allocated.resource_id, allocated.previous_resource_id) == ("r2", "r1")
    assert (job.status, job.holder) == ("allocated", "r2")


def test_reallocating_a_paused_job_keeps_its_resolution_clock_counting_for_the_new_resource():
    clock = FrozenClock()
    job = job_in("paused", clock)
    job.allocate("r2", "manual", None, 0, "mgr", "reassign", clock.advance(hours=1))
    job.start("r2", clock.advance(hours=1))
    assert job.status == "in_progress"
    assert "resolution_breach" in job.timers(SHARE)  # fails: the resolution clock is still paused
    job.pause("parts", None, clock.advance(hours=1))  # raises: "cannot pause the resolution clock: it is paused"


# --- partners: allocation needs approval -----------------------------------------------------------


def test_a_partner_allocation_waits_for_approval_then_records_the_approval_before_the_allocation():
    clock = FrozenClock()
    job = open_job(clock)
    job.take_pending()
    job.request_allocation("partner-7", "agent-1", "specialist glazing", clock.advance(minutes=2))
    requested = job.take_pending()
    assert names(requested) == ["AllocationRequested"]
    assert (job.status, job.pending_resource, job.holder) == ("awaiting_approval", "partner-7", None)

    job.approve("mgr-1", clock.advance(minutes=10))
    approved, allocated = job.take_pending()
    assert isinstance(approved, ev.AllocationApproved) and isinstance(allocated, ev.ResourceAllocated)
    assert (approved.resource_id, approved.approved_by, approved.approved_at) == ("partner-7", "mgr-1", clock.now())
    assert (allocated.resource_id, allocated.strategy, allocated.allocated_by) == ("partner-7", "manual", "mgr-1")
    assert (allocated.candidates, allocated.score, allocated.reason) == (0, None, "approved")
    assert (job.status, job.holder, job.pending_resource) == ("allocated", "partner-7", None)


# --- P1 fast track ---------------------------------------------------------------------------------


def test_a_p1_job_escalates_to_the_team_lead_as_soon_as_it_opens():
    clock = FrozenClock()
    job = open_job(clock, "P1")
    opened, escalated = job.take_pending()
    assert isinstance(opened, ev.JobOpened) and isinstance(escalated, ev.JobEscalated)
    assert (escalated.level, escalated.trigger, escalated.escalated_at) == ("team_lead", "p1", T0)
    assert job.escalation == "team_lead"


def test_a_p3_job_does_not_escalate_on_opening_and_has_no_p1_timer():
    job = open_job(FrozenClock(), "P3")
    assert names(job.take_pending()) == ["JobOpened"]
    assert job.escalation is None
    assert "p1_unallocated" not in job.timers(SHARE)


def test_an_open_p1_job_has_a_p1_unallocated_timer_five_minutes_after_it_opened():
    clock = FrozenClock()
    job = Job.open(job_data("P1", emergency=True, received_at=T0 - timedelta(minutes=3)), ["repair"], clock.now())
    assert job.timers(SHARE)["p1_unallocated"] == T0 + timedelta(minutes=5)  # from opening, not receipt


def test_allocating_a_p1_job_drops_its_p1_unallocated_timer_and_makes_the_timer_stale():
    clock = FrozenClock()
    job = open_job(clock, "P1")
    job.allocate("r1", "greedy", None, 1, "dispatch", None, clock.advance(minutes=2))
    job.take_pending()
    assert "p1_unallocated" not in job.timers(SHARE)
    job.fire("p1_unallocated", SHARE, clock.advance(minutes=5))
    assert not job.changed
    assert job.escalation == "team_lead"


def test_firing_p1_unallocated_escalates_to_the_manager_once():
    clock = FrozenClock()
    job = open_job(clock, "P1")
    job.take_pending()
    job.fire("p1_unallocated", SHARE, clock.advance(minutes=5))
    (escalated,) = job.take_pending()
    assert isinstance(escalated, ev.JobEscalated)
    assert (escalated.level, escalated.trigger, escalated.escalated_by) == ("manager", "p1_unallocated", "sla")
    assert job.escalation == "manager"
    assert "p1_unallocated" not in job.timers(SHARE)
    job.fire("p1_unallocated", SHARE, clock.advance(minutes=1))
    assert not job.changed


def test_escalating_to_an_unknown_level_is_invalid_and_a_lower_level_never_lowers_the_escalation():
    clock = FrozenClock()
    job = open_job(clock)
    with pytest.raises(Invalid) as err:
        job.escalate("ceo", "manual", "why not", "agent", clock.now())
    assert err.value.field == "level"
    job.escalate("manager", "manual", "angry customer", "agent", clock.now())
    job.escalate("team_lead", "manual", "again", "agent", clock.now())
    assert job.escalation == "manager"


# --- SLA timers on a 24x7 calendar -----------------------------------------------------------------


def test_a_new_job_on_a_24x7_calendar_warns_at_75_percent_of_each_window_and_breaches_at_its_deadline():
    job = open_job(FrozenClock())
    assert job.timers(SHARE) == {
        "response_warning": T0 + hours(3), "response_breach": T0 + hours(4),
        "resolution_warning": T0 + hours(18), "resolution_breach": T0 + hours(24),
    }
    assert job.timers(0.5)["response_warning"] == T0 + hours(2)


def test_firing_a_response_warning_records_the_warning_and_escalates_to_the_team_lead_once():
    clock = FrozenClock()
    job = open_job(clock)
    job.take_pending()
    job.fire("response_warning", SHARE, moved(clock, T0 + hours(3)))
    warning, escalated = job.take_pending()
    assert isinstance(warning, ev.SlaWarning) and isinstance(escalated, ev.JobEscalated)
    assert (warning.clock, warning.deadline, warning.warned_at) == ("response", T0 + hours(4), T0 + hours(3))
    assert (escalated.level, escalated.trigger) == ("team_lead", "sla_warning")
    assert job.escalation == "team_lead"
    assert "response_warning" not in job.timers(SHARE)
    assert "response_breach" in job.timers(SHARE)
    job.fire("response_warning", SHARE, clock.advance(minutes=1))
    assert not job.changed


def test_firing_a_response_breach_records_the_breach_and_escalates_to_the_manager_once():
    clock = FrozenClock()
    job = open_job(clock)
    job.take_pending()
    clock.set(T0 + hours(4))
    job.fire("response_breach", SHARE, clock.now())
    breach, escalated = job.take_pending()
    assert isinstance(breach, ev.SlaBreached) and isinstance(escalated, ev.JobEscalated)
    assert (breach.clock, breach.deadline, breach.breached_at) == ("response", T0 + hours(4), T0 + hours(4))
    assert (escalated.level, escalated.trigger) == ("manager", "sla_breach")
    assert job.escalation == "manager"
    job.fire("response_breach", SHARE, clock.advance(minutes=1))
    assert not job.changed
    # A later warning on the other clock records its own warning but never lowers the escalation.
    job.fire("resolution_warning", SHARE, moved(clock, T0 + hours(18)))
    assert names(job.take_pending()) == ["SlaWarning", "JobEscalated"]
    assert job.escalation == "manager"


def test_intakes_acknowledgement_stops_the_response_clock_so_its_timers_are_stale():
    clock = FrozenClock()
    job = job_in("in_progress", clock)
    job.responded(clock.now(), clock.now())  # (tests/unit/test_dispatch_response.py: the rule)
    job.take_pending()
    assert job.clocks["response"].stopped
    assert set(job.timers(SHARE)) == {"resolution_warning", "resolution_breach"}
    job.fire("response_warning", SHARE, moved(clock, T0 + hours(3)))
    job.fire("response_breach", SHARE, moved(clock, T0 + hours(4)))
    assert not job.changed
    assert job.escalation is None


def test_timers_of_a_paused_clock_fire_nothing():
    clock = FrozenClock()
    job = job_in("paused", clock)
    job.responded(clock.now(), clock.now())
    job.take_pending()
    clock.set(T0 + hours(24))
    for timer in ("response_warning", "response_breach", "resolution_warning", "resolution_breach"):
        job.fire(timer, SHARE, clock.now())
    assert not job.changed
    assert job.escalation is None


def test_an_unknown_timer_fires_nothing():
    clock = FrozenClock()
    job = job_in("open", clock)
    job.fire("resolution_reminder", SHARE, clock.now())
    assert not job.changed


# --- pauses --------------------------------------------------------------------------------------


def test_a_pause_moves_the_resolution_deadline_by_its_length_and_hides_the_paused_clock_meanwhile():
    clock = FrozenClock()
    job = open_job(clock)
    job.allocate("r1", "greedy", None, 1, "dispatch", None, clock.advance(minutes=10))
    job.start("r1", moved(clock, T0 + hours(1)))
    job.responded(T0 + hours(1), T0 + hours(1))
    before = job.timers(SHARE)
    assert before == {"resolution_warning": T0 + hours(18), "resolution_breach": T0 + hours(24)}

    job.pause("customer", None, moved(clock, T0 + hours(2)))
    assert job.clocks["resolution"].paused
    assert job.timers(SHARE) == {}

    job.resume(moved(clock, T0 + hours(4)))
    after = job.timers(SHARE)
    assert after["resolution_breach"] == before["resolution_breach"] + hours(2) == T0 + hours(26)
    assert after["resolution_warning"] == before["resolution_warning"] + hours(2)


# --- business hours ------------------------------------------------------------------------------


def test_on_business_hours_a_friday_afternoon_job_warns_on_monday_morning_in_open_time():
    friday_16, monday_11 = jan(9, 16), jan(12, 11)
    job = Job.open(job_data(received_at=friday_16, respond_by=monday_11, resolve_by=jan(13, 17),
                            calendar=WEEKDAY_SPEC), ["repair"], friday_16)
    response = job.clocks["response"]
    assert response.budget == hours(3)  # Friday 16-17, Monday 09-11
    timers = job.timers(SHARE)
    # 75% of 3 h = 2 h 15: Friday 16:00-17:00, then Monday 09:00 + 1 h 15.
    assert timers["response_warning"] == response.warning_at(SHARE) == jan(12, 10, 15)
    assert timers["response_breach"] == response.deadline() == monday_11
    # resolution: Fri 1 h + Mon 8 h + Tue 8 h = 17 h; 75% = 12 h 45 -> Tue 09:00 + 3 h 45.
    assert job.clocks["resolution"].budget == hours(17)
    assert timers["resolution_warning"] == jan(13, 12, 45)
    assert timers["resolution_breach"] == jan(13, 17)
    for at in (timers["response_warning"], timers["response_breach"], timers["resolution_warning"]):
        assert WEEKDAYS.is_open(at)


def test_a_weekend_pause_on_business_hours_does_not_move_the_deadline():
    clock = FrozenClock(jan(9, 9))  # Friday
    job = Job.open(job_data(received_at=clock.now(), respond_by=jan(9, 10), resolve_by=jan(12, 17),
                            calendar=WEEKDAY_SPEC), ["repair"], clock.now())
    job.allocate("r1", "greedy", None, 1, "dispatch", None, clock.now())
    job.start("r1", moved(clock, jan(9, 9, 30)))
    before = job.timers(SHARE)["resolution_breach"]
    job.pause("parts", None, moved(clock, jan(10, 10)))  # Saturday: closed
    job.resume(moved(clock, jan(11, 10)))  # Sunday: closed
    assert job.timers(SHARE)["resolution_breach"] == before == jan(12, 17)


# --- reopening: tests/unit/test_dispatch_reopen.py --------------------------------------------------


# --- re-triage: the job follows the newest RequestTriaged whole (issue 12, symptom 3) ----------------

RECEIVED_LATE = datetime(2026, 1, 5, 16, 38, 38, tzinfo=UTC)  # Monday, 21 min 22 s before business hours end


def test_a_retriage_from_business_hours_p3_to_24x7_p1_puts_both_clocks_on_24x7_with_intakes_deadlines():
    p3 = job_data("P3", received_at=RECEIVED_LATE, respond_by=RECEIVED_LATE + timedelta(days=1),
                  resolve_by=RECEIVED_LATE + timedelta(days=3), calendar=WEEKDAY_SPEC)
    job = Job.open(p3, ["facilities"], RECEIVED_LATE)
    assert job.clocks["response"].budget == hours(8)
    retriaged_at = RECEIVED_LATE + timedelta(minutes=1)
    p1 = job_data("P1", emergency=True, received_at=RECEIVED_LATE, respond_by=jan(5, 17, 38) + timedelta(seconds=38),
                  resolve_by=jan(5, 20, 38) + timedelta(seconds=38), calendar=ALWAYS_SPEC, triaged_at=retriaged_at)

    job.reprioritise(p1, ["facilities"], retriaged_at)

    # Before: the clocks stayed on business hours, 1,282 s of open time to 17:00: a false breach at 17:00.
    response, resolution = job.clocks["response"], job.clocks["resolution"]
    assert (response.calendar, response.budget.total_seconds(), response.deadline()) == (
        BusinessCalendar.always_open(), 3_600, p1.respond_by)
    assert (resolution.calendar, resolution.budget.total_seconds(), resolution.deadline()) == (
        BusinessCalendar.always_open(), 14_400, p1.resolve_by)
    assert job.timers(SHARE)["resolution_breach"] == p1.resolve_by == datetime(2026, 1, 5, 20, 38, 38, tzinfo=UTC)
    events = job.take_pending()
    assert names(events) == ["JobOpened", "JobReprioritised", "JobEscalated"]  # upgraded to P1: fast track
    reprioritised = events[1]
    assert ev.registry.type_of(reprioritised) == "servicetrail.dispatch.JobReprioritised.v3"
    assert (reprioritised.priority, reprioritised.calendar, reprioritised.required_skills) == ("P1", ALWAYS_SPEC,
                                                                                             ["facilities"])
    assert _snapshot(Job.rehydrate(events, len(events))) == _snapshot(job)


def test_a_retriage_from_24x7_p1_to_business_hours_p2_puts_both_clocks_on_business_hours():
    received = jan(5, 14)  # Monday
    p1 = job_data("P1", emergency=True, received_at=received, respond_by=jan(5, 15), resolve_by=jan(5, 18),
                  calendar=ALWAYS_SPEC)
    job = Job.open(p1, ["facilities"], received)
    job.allocate("r1", "greedy", None, 1, "dispatch", None, jan(5, 14, 1))
    job.accept("r1", jan(5, 14, 5))
    job.take_pending()
    # Intake's P2: 4 open hours (Mon 14-17, Tue 09-10) and one open day, on business hours.
    p2 = job_data("P2", received_at=received, respond_by=jan(6, 10), resolve_by=jan(6, 14), calendar=WEEKDAY_SPEC,
                  triaged_at=jan(5, 14, 30))

    job.reprioritise(p2, ["facilities"], jan(5, 14, 30))

    # Before: the 24x7 calendar was kept, 72,000 s (20 h round the clock) instead of 14,400.
    response, resolution = job.clocks["response"], job.clocks["resolution"]
    assert (response.calendar, response.budget.total_seconds(), response.deadline()) == (WEEKDAYS, 14_400, jan(6, 10))
    assert (resolution.calendar, resolution.budget.total_seconds(), resolution.deadline()) == (
        WEEKDAYS, 28_800, jan(6, 14))
    assert names(job.take_pending()) == ["JobReprioritised"]
    assert (job.priority, job.terms.emergency, job.status, job.holder) == ("P2", False, "accepted", "r1")
    assert job.timers(SHARE) == {"response_warning": jan(5, 17), "response_breach": jan(6, 10),  # 3 h, then 4 h
                                 "resolution_warning": jan(6, 12), "resolution_breach": jan(6, 14)}  # 6 h, then 8 h


def test_a_retriage_onto_another_calendar_keeps_the_pauses_already_counted():
    job = open_job(FrozenClock())  # P3, 24x7, received Monday 09:00
    job.allocate("r1", "greedy", None, 1, "dispatch", None, jan(5, 9, 10))
    job.start("r1", jan(5, 9, 30))
    job.responded(jan(5, 9, 40), jan(5, 9, 40))
    job.pause("parts", None, jan(5, 10))
    job.resume(jan(5, 11))  # 1 h waiting on parts
    p2 = job_data("P2", received_at=T0, respond_by=jan(5, 13), resolve_by=jan(6, 9), calendar=WEEKDAY_SPEC)

    job.reprioritise(p2, ["repair"], jan(5, 12))

    resolution = job.clocks["resolution"]
    assert (resolution.calendar, resolution.budget, resolution.paused_for) == (WEEKDAYS, hours(8), hours(1))
    assert resolution.deadline() == jan(6, 10)  # intake's Tuesday 09:00, an hour later for the wait
    response = job.clocks["response"]
    assert response.stopped and response.calendar.is_always_open  # met on the terms of its time


def test_a_retriage_to_another_category_takes_the_skills_it_needs():
    job = open_job(FrozenClock())
    job.take_pending()
    printer = job_data(category="fault > equipment > printer", triaged_at=T0 + timedelta(minutes=5))

    job.reprioritise(printer, ["equipment"], T0 + timedelta(minutes=5))

    (reprioritised,) = job.take_pending()
    assert (reprioritised.category, reprioritised.required_skills) == ("fault > equipment > printer", ["equipment"])
    assert (job.terms.category, job.terms.required_skills) == ("fault > equipment > printer", ("equipment",))
    assert (job.clocks["response"].budget, job.clocks["resolution"].budget) == (hours(4), hours(24))


def test_a_retriage_to_the_same_terms_records_nothing():
    job = open_job(FrozenClock())
    job.take_pending()
    job.reprioritise(job_data(triaged_at=T0 + hours(1)), ["repair"], T0 + hours(1))
    assert not job.changed


def test_an_old_v1_job_reprioritised_still_folds_with_calendar_category_and_skills_unchanged():
    opened = Job.open(job_data(received_at=T0, respond_by=jan(6, 9), resolve_by=jan(8, 9), calendar=WEEKDAY_SPEC),
                      ["facilities"], T0).take_pending()
    v1 = {"request_id": "req-1", "priority": "P2", "emergency": False, "respond_by": "2026-01-05T13:00:00+00:00",
          "resolve_by": "2026-01-06T09:00:00+00:00", "reprioritised_at": "2026-01-05T10:00:00+00:00"}
    with pytest.raises(ValidationError):
        ev.JobReprioritised.model_validate(v1)  # no defaults on the v2 fields: v1 reads only through the upcaster

    upcast = ev.registry.decode("servicetrail.dispatch.JobReprioritised.v1", v1)
    job = Job.rehydrate([*opened, upcast], 2)

    assert (upcast.category, upcast.required_skills, upcast.calendar) == (None, None, None)
    assert (job.priority, job.terms.category, job.terms.required_skills) == (
        "P2", "fault > facilities > plumbing", ("facilities",))
    response = job.clocks["response"]
    assert (response.calendar, response.budget, response.deadline()) == (WEEKDAYS, hours(4), jan(5, 13))


# --- zones: the job is where intake says the request is (issue 12, symptom 6) ------------------------


def test_a_job_opens_in_the_zone_intake_triaged_the_request_into():
    job = Job.open(job_data(zone="north"), ["repair"], T0)
    (opened,) = job.take_pending()
    assert (opened.zone, job.terms.zone) == ("north", "north")


def test_a_retriage_that_only_moves_the_zone_is_followed_and_recorded():
    job = Job.open(job_data(zone="north"), ["repair"], T0)
    job.take_pending()
    job.reprioritise(job_data(zone="south", triaged_at=T0 + hours(1)), ["repair"], T0 + hours(1))
    (reprioritised,) = job.take_pending()
    assert (reprioritised.zone, job.terms.zone, job.priority) == ("south", "south", "P3")
    job.reprioritise(job_data(zone=None, triaged_at=T0 + hours(2)), ["repair"], T0 + hours(2))
    assert job.terms.zone is None  # the request moved somewhere no zone covers


def test_a_stored_v2_reprioritised_reads_with_the_zone_every_job_had_then():
    v2 = {"request_id": "req-1", "priority": "P2", "emergency": False, "category": None, "required_skills": None,
          "calendar": None, "respond_by": "2026-01-05T13:00:00+00:00", "resolve_by": "2026-01-06T09:00:00+00:00",
          "reprioritised_at": "2026-01-05T10:00:00+00:00"}
    with pytest.raises(ValidationError):
        ev.JobReprioritised.model_validate(v2)  # no default on `zone`: v2 reads only through the upcaster
    upcast = ev.registry.decode("servicetrail.dispatch.JobReprioritised.v2", v2)
    assert upcast.zone is None


# --- releasing and rebuilding ----------------------------------------------------------------------


@pytest.mark.parametrize("status", LIVE)
def test_a_release_stops_every_clock_and_leaves_no_timers(status):
    clock = FrozenClock()
    job = job_in(status, clock)
    job.release("withdrawn", clock.now())
    assert all(c.stopped for c in job.clocks.values())
    assert job.timers(SHARE) == {}


def test_releasing_an_open_p1_job_drops_its_p1_unallocated_timer():
    clock = FrozenClock()
    job = open_job(clock, "P1")
    job.release("duplicate", clock.advance(minutes=1))
    assert job.timers(SHARE) == {}
    job.fire("p1_unallocated", SHARE, clock.advance(minutes=10))
    assert names(job.take_pending()) == ["JobOpened", "JobEscalated", "JobReleased"]


def _snapshot(job: Job) -> tuple:
    return (job.request_id, job.status, job.holder, job.resource_id, job.pending_resource, job.declined_by,
            job.escalation, job.fired, job.clocks, job.timers(SHARE))


@pytest.mark.parametrize("stop", ["paused", "in_progress", "released", "reopened"])
def test_rebuilding_a_job_from_its_events_gives_the_same_job(stop):
    clock = FrozenClock()
    job = open_job(clock, "P1")
    job.fire("p1_unallocated", SHARE, clock.advance(minutes=5))
    job.allocate("r1", "greedy", None, 2, "dispatch", None, clock.advance(minutes=1))
    job.decline("r1", "busy", clock.advance(minutes=1))
    job.request_allocation("partner-1", "agent", "specialist", clock.advance(minutes=1))
    job.approve("mgr", clock.advance(minutes=1))
    job.accept("partner-1", clock.advance(minutes=1))
    job.start("partner-1", clock.advance(minutes=30))
    job.add_note("partner-1", "on site", "arrived", clock.advance(minutes=1))
    job.pause("parts", None, clock.advance(hours=1))
    if stop != "paused":
        job.resume(clock.advance(hours=3))
        job.fire("resolution_warning", SHARE, job.timers(SHARE)["resolution_warning"])
    if stop == "released":
        job.release("cancelled", clock.advance(hours=1))
    if stop == "reopened":
        job.resolve("partner-1", "fixed", "done", clock.advance(hours=1))
        job.reopen("still broken", clock.advance(days=2), clock.now())
    events = job.take_pending()

    rebuilt = Job.rehydrate(events, len(events))

    assert rebuilt.version == len(events)
    assert not rebuilt.changed
    assert _snapshot(rebuilt) == _snapshot(job)
    assert rebuilt.declined_by == {"r1"} and rebuilt.escalation in ("team_lead", "manager")


# --- resources -----------------------------------------------------------------------------------

SHIFT = {"name": "day", "timezone": "UTC", "hours": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")}}


def register(kind: str = "person", shift: dict | None = None, capacity: int = 2) -> Resource:
    return Resource.register("r1", "Ann", kind, {"repair": 3}, capacity, "north", shift, "admin", T0)


def test_registering_a_resource_records_it_with_its_shift_calendar():
    resource = register(shift=SHIFT)
    (registered,) = resource.take_pending()
    assert isinstance(registered, ev.ResourceRegistered)
    assert (resource.id, resource.kind, resource.capacity, resource.zone) == ("r1", "person", 2, "north")
    assert resource.shift == BusinessCalendar.from_spec(SHIFT)


def test_registering_an_unknown_kind_is_invalid_naming_the_kind():
    with pytest.raises(Invalid) as err:
        register(kind="robot")
    assert err.value.field == "kind"
    assert "person, equipment, partner" in err.value.message


@pytest.mark.parametrize("shift", [
    {"name": "x", "timezone": "Mars/Olympus", "hours": {"mon": ["09:00-17:00"]}},
    {"name": "x", "timezone": "UTC", "hours": {"mon": ["9-5"]}},
    {"name": "x", "timezone": "UTC", "hours": {"funday": ["09:00-17:00"]}},
    {"name": "x", "timezone": "UTC", "hours": {}},
    {"name": "x", "timezone": "UTC", "hours": {"mon": ["09:00-17:00"]}, "colour": "red"},
])
def test_registering_a_bad_shift_spec_is_invalid_naming_the_shift(shift):
    with pytest.raises(Invalid) as err:
        register(shift=shift)
    assert err.value.field == "shift"


def test_updating_with_a_bad_shift_spec_is_invalid_naming_the_shift():
    resource = register()
    with pytest.raises(Invalid) as err:
        resource.update({"shift": {"name": "x", "timezone": "Nowhere/City", "hours": {}}}, 0, "r", "admin", T0)
    assert err.value.field == "shift"


def test_capacity_cannot_drop_below_the_jobs_the_resource_holds_now():
    resource = register(capacity=3)
    resource.take_pending()
    with pytest.raises(Invalid) as err:
        resource.update({"capacity": 1}, 2, "cut back", "admin", T0)
    assert err.value.field == "capacity"
    assert resource.capacity == 3 and not resource.changed
    assert resource.update({"capacity": 2}, 2, "cut back", "admin", T0) is True
    assert resource.capacity == 2


def test_an_update_records_only_the_fields_that_really_change():
    resource = register(shift=SHIFT)
    resource.take_pending()
    assert resource.update({"capacity": 4, "zone": "north", "name": "Ann"}, 0, "grow", "admin", T0) is True
    (updated,) = resource.take_pending()
    assert isinstance(updated, ev.ResourceUpdated)
    assert updated.changes == {"capacity": 4}
    assert resource.capacity == 4


def test_an_update_with_no_real_change_records_nothing():
    resource = register(shift=SHIFT)
    resource.take_pending()
    same = {"name": "Ann", "skills": {"repair": 3}, "capacity": 2, "zone": "north",
            "shift": resource.shift.to_spec()}
    assert resource.update(same, 0, "no-op", "admin", T0) is False
    assert not resource.changed


def test_an_update_repeating_the_registered_shift_spec_records_nothing():
    resource = register(shift=SHIFT)
    resource.take_pending()
    assert resource.update({"shift": SHIFT}, 0, "no-op", "admin", T0) is False
    assert not resource.changed


def test_an_update_can_change_and_clear_the_shift():
    resource = register(shift=SHIFT)
    night = {"name": "night", "timezone": "UTC", "always_open": True}
    resource.update({"shift": night}, 0, "nights", "admin", T0)
    assert resource.shift == BusinessCalendar.from_spec(night)
    resource.update({"shift": None}, 0, "no shift", "admin", T0)
    assert resource.shift is None


def test_a_resource_off_duty_is_not_available():
    resource = register()
    assert resource.available_at(T0)
    resource.set_availability("off_duty", None, "home", "r1", T0)
    assert not resource.available_at(T0 + hours(1))
    resource.set_availability("on_duty", None, "back", "r1", T0 + hours(2))
    assert resource.available_at(T0 + hours(2))


def test_a_resource_on_leave_is_available_again_from_the_end_of_the_leave():
    until = T0 + timedelta(days=3)
    resource = register()
    resource.set_availability("on_leave", until, "holiday", "mgr", T0)
    assert not resource.available_at(until - timedelta(seconds=1))
    assert resource.available_at(until)
    assert resource.available_at(until + hours(1))


def test_a_resource_on_open_ended_leave_is_never_available():
    resource = register()
    resource.set_availability("on_leave", None, "sick", "mgr", T0)
    assert not resource.available_at(T0 + timedelta(days=365))


def test_a_resource_is_not_available_when_its_shift_is_closed():
    resource = register(shift=SHIFT)
    assert resource.available_at(jan(5, 10))  # Monday 10:00
    assert not resource.available_at(jan(5, 17))  # the shift ends at 17:00 (exclusive)
    assert not resource.available_at(jan(10, 12))  # Saturday
    assert not resource.available_at(jan(6, 8, 59))


def test_an_unknown_availability_status_is_invalid():
    resource = register()
    resource.take_pending()
    with pytest.raises(Invalid) as err:
        resource.set_availability("asleep", None, "zzz", "r1", T0)
    assert err.value.field == "status"
    assert not resource.changed


def test_a_resource_rebuilt_from_its_events_matches_the_original():
    resource = register(shift=SHIFT)
    resource.update({"capacity": 5, "skills": {"repair": 4, "electrics": 2}}, 0, "trained", "admin", T0)
    resource.set_availability("on_leave", T0 + hours(48), "course", "mgr", T0)
    events = resource.take_pending()
    rebuilt = Resource.rehydrate(events, len(events))
    assert vars(rebuilt) | {"version": 0} == vars(resource) | {"version": 0}


# --- skill maps ----------------------------------------------------------------------------------

SKILLS = SkillMap(by_category={
    "facilities": ["facilities"],
    "facilities > equipment": ["equipment"],
    "facilities > equipment > lift": ["lift-engineer", "electrics"],
})


def test_the_most_specific_configured_category_decides_the_skills():
    assert SKILLS.required("fault", "facilities > equipment > lift") == ["lift-engineer", "electrics"]
    assert SKILLS.required("fault", "facilities > equipment > lift > door") == ["lift-engineer", "electrics"]
    assert SKILLS.required("fault", "facilities > equipment > boiler") == ["equipment"]
    assert SKILLS.required("fault", "facilities > cleaning") == ["facilities"]


def test_a_category_only_sharing_a_prefix_of_letters_does_not_match_a_configured_one():
    assert SKILLS.required("fault", "facilities > equipmentally") == ["facilities"]
    assert SkillMap(by_category={"it": ["it"]}).required("fault", "items > lost") == ["lost"]


def test_an_unconfigured_category_needs_its_area_the_second_level():
    assert SKILLS.required("fault", "estate > grounds > trees") == ["grounds"]
    assert SKILLS.required("fault", "estate >grounds") == ["grounds"]
    assert SKILLS.required("complaint", "parking") == ["parking"]  # no second level: the category itself


def test_without_a_category_the_kind_decides_the_skills():
    assert SKILLS.required("fault", None) == ["repair"]
    assert SKILLS.required("complaint", "") == ["customer-care"]
    assert SKILLS.required("mystery", None) == ["general"]
    assert SkillMap(by_kind={"fault": ["plumbing"]}).required("fault", None) == ["plumbing"]


def test_the_skills_returned_are_a_copy_not_the_configured_list():
    skills = SKILLS.required("fault", "facilities > equipment")
    skills.append("hacked")
    assert SKILLS.required("fault", "facilities > equipment") == ["equipment"]
