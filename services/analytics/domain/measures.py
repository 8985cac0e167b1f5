"""What the reports measure on a request, derived from its fact. Pure; the definitions are public.

Stages (seconds, None until both ends happened):
- triage: received -> first triaged;  response: received -> first acknowledged (first response);
- allocation: first triaged -> first allocated;  start: first allocated -> work first started;
- work: time actually worked (started/resumed -> paused/resolved/handed on), summed over reopens;
- paused: time waiting on the customer or parts;  confirmation: last resolved -> closed;
- lead: received -> last resolved;  waiting: lead minus work (queues, hand-offs and pauses).
Hand-offs are allocations after the first; a ping-pong is an allocation back to a resource that
held the request before. First-contact resolution: resolved by the first resource it was given,
never reopened, never escalated.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from services.analytics.domain.facts import RequestFact

STAGES = ("triage", "response", "allocation", "start", "work", "paused", "confirmation", "lead")


def _between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max((end - start).total_seconds(), 0.0)


def ping_pongs(path: list[str]) -> int:
    seen: set[str] = set()
    count, previous = 0, None
    for resource in path:
        if resource in seen and resource != previous:
            count += 1
        seen.add(resource)
        previous = resource
    return count


def measures(f: RequestFact) -> dict[str, Any]:
    lead = _between(f.received_at, f.resolved_at)
    return {
        "ended_at": f.closed_at or f.withdrawn_at or f.merged_at,
        "triage_s": _between(f.received_at, f.triaged_at),
        "response_s": _between(f.received_at, f.acknowledged_at),
        "allocation_s": _between(f.triaged_at, f.first_allocated_at),
        "start_s": _between(f.first_allocated_at, f.started_at),
        "confirmation_s": _between(f.resolved_at, f.closed_at),
        "lead_s": lead,
        "waiting_s": None if lead is None else max(lead - f.work_s, 0.0),
        "handoffs": max(len(f.path) - 1, 0),
        "ping_pongs": ping_pongs(f.path),
        "fcr": (f.resolved_at is not None and f.reopens == 0 and f.escalation_level == 0
                and bool(f.path) and f.resolver_id == f.path[0] and len(set(f.path)) == 1),
    }


MEASURES = tuple(measures(RequestFact("")).keys())
