"""Many plausible request histories from a seed: for rebuild tests and the analytics benchmark.

Each request takes a random path through the lifecycle (late or missing responses, hand-offs,
pauses, reopens, breaches, withdrawals, merges, surveys, complaints); times only move forward
within a request, and the whole history is ordered by time, as the services would publish it.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from tests.support.history import History, Journey

CATEGORIES = ("it > printer", "it > network", "facilities > heating", "facilities > cleaning", "hr > payroll")
CHANNELS = ("phone", "email", "web", "chat", "walk_in", "internal")
PRIORITIES = ("P1", "P2", "P2", "P3", "P3", "P3", "P4")
TEAMS = ("alpha", "beta", "gamma", "delta")


def generate(requests: int, *, seed: int = 7, start: datetime, resources: int = 40,
             spread: timedelta = timedelta(days=120), register: bool = True) -> History:
    """`register=False` leaves out the resources' registration (a later chunk of one big history)."""
    rnd, h = random.Random(seed), History()
    staff = [f"res-{i}" for i in range(resources)]
    for i, resource in enumerate(staff if register else ()):
        h.resource(resource, start - timedelta(days=1), team=TEAMS[i % len(TEAMS)], capacity=1 + i % 4)
    step = spread / max(requests, 1)
    for i in range(requests):
        _journey(rnd, h, f"G{seed}-{i}", start + step * i + timedelta(minutes=rnd.randint(0, 59)), staff)
    h.envelopes.sort(key=lambda e: e.time)
    return h


def _journey(rnd: random.Random, h: History, rid: str, t: datetime, staff: list[str]) -> None:
    def later(lo: float, hi: float) -> datetime:
        nonlocal t
        t += timedelta(minutes=rnd.uniform(lo, hi))
        return t

    channel, category = rnd.choice(CHANNELS), rnd.choice(CATEGORIES)
    priority, received = rnd.choice(PRIORITIES), t
    respond_by, resolve_by = received + timedelta(hours=4), received + timedelta(days=2)
    j = Journey(h, rid).received(t, channel=channel, category=category)
    j.triaged(later(0, 30), priority=priority, respond_by=respond_by, resolve_by=resolve_by, received_at=received,
              channel=channel, category=category)
    if rnd.random() < 0.05:
        j.withdrawn(later(5, 300)).closed(t, "withdrawn")
        return
    if rnd.random() < 0.03:
        j.merged(later(5, 60), f"{rid}-original").closed(t, "merged")
        return
    if rnd.random() < 0.9:
        at = later(5, 400)
        j.acknowledged(at, respond_by=respond_by, within_target=at <= respond_by)
    holder = rnd.choice(staff)
    j.allocated(later(1, 120), holder)
    for _ in range(rnd.choice((0, 0, 0, 1, 2))):
        previous, holder = holder, rnd.choice(staff)
        j.allocated(later(10, 120), holder, previous)
    if rnd.random() < 0.1:
        j.warned(later(1, 30), "response").breached(later(1, 60), "response").escalated(t)
    j.started(later(5, 600), holder)
    if rnd.random() < 0.3:
        j.paused(later(10, 120)).resumed(later(30, 900))
    j.resolved(later(20, 400), holder)
    if rnd.random() < 0.1:
        j.rejected(later(30, 600)).reopened(t, 1).allocated(later(5, 60), holder).started(later(5, 60), holder)
        if rnd.random() < 0.5:
            j.breached(later(1, 30), "resolution").escalated(t, "manager")
        j.resolved(later(20, 300), holder)
    if rnd.random() < 0.8:
        j.confirmed(later(10, 900)).closed(t)
    else:
        j.closed(later(4000, 4400), "auto")
    if rnd.random() < 0.4:
        j.surveyed(later(30, 2000), csat=rnd.randint(1, 5), nps=rnd.randint(0, 10), reliability=rnd.randint(1, 5),
                   empathy=rnd.randint(1, 5))
    if rnd.random() < 0.04:
        h.feedback(f"F-{rid}", "complaint", later(60, 600), respond_by=t + timedelta(days=2), request_id=rid)
        if rnd.random() < 0.7:
            h.feedback_resolved(f"F-{rid}", later(60, 4000), within_deadline=rnd.random() < 0.8, request_id=rid)
