"""Allocation: which resource gets which job, and a score that explains why.

Pure domain logic (no I/O). Every decision carries its strategy and a Score whose components add up
to its total, so the event that records it can be explained later.

The documented score of job `j` on resource `r` (every component already weighted, total = sum):

    skill = w.skill * (1 + w.risk_boost * risk) * fit
            fit  = mean level of r in j's required skills / 5   (1.0 when j requires no skill;
                   a skill named twice counts once)
            risk = j.risk clamped to 0..1 (the share of the SLA response window already used)
    load  = w.load * (1 - r.load / r.capacity)    emptier resources score higher (fairness);
                                                   0 when full or capacity is 0
    zone  = w.zone when j.zone and r.zone are both set and equal, else 0
    total = skill + load + zone

Default weights: skill 0.45, load 0.35, zone 0.20, risk_boost 0.5, so a total lies in 0..1.225.

Eligibility: the resource is available, is not a partner (partners need an approval step and are
never auto-allocated), has a free slot (capacity - load > 0) and holds every required skill at
level >= 1. A job that requires no skill accepts any such resource.

Job order: P1 before P4, then higher SLA risk first, then id.

Strategies
- greedy: jobs in that order each take their best eligible resource (highest total, then lower load,
  then id); a resource's load rises with every job it takes, so later jobs see it fuller.
- batch: see `batch.py`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping, Sequence

from shared.errors import Invalid

PRIORITIES = ("P1", "P2", "P3", "P4")
MAX_LEVEL = 5
# Totals equal on paper can differ in the last bits; ties must still fall to load, then id.
_TIE_DIGITS = 9


@dataclass(frozen=True)
class Candidate:
    id: str
    kind: str
    skills: Mapping[str, int]
    capacity: int
    load: int
    zone: str | None
    available: bool


@dataclass(frozen=True)
class JobNeed:
    id: str
    priority: str
    required_skills: tuple[str, ...]
    zone: str | None
    risk: float


@dataclass(frozen=True)
class Weights:
    skill: float = 0.45
    load: float = 0.35
    zone: float = 0.20
    risk_boost: float = 0.5


@dataclass(frozen=True)
class Score:
    total: float
    skill: float
    load: float
    zone: float

    def breakdown(self) -> dict[str, float]:
        """The weighted components and their total, rounded to 4 places, for the event."""
        return {name: round(getattr(self, name), 4) for name in ("total", "skill", "load", "zone")}


@dataclass(frozen=True)
class Assignment:
    job_id: str
    resource_id: str
    score: Score
    strategy: str


def free_slots(c: Candidate) -> int:
    """Jobs the resource can still take: capacity minus load, never below 0."""
    return max(0, c.capacity - c.load)


def takes_jobs(c: Candidate) -> bool:
    return c.available and c.kind != "partner" and free_slots(c) > 0


def required_of(job: JobNeed) -> tuple[str, ...]:
    return tuple(dict.fromkeys(job.required_skills))


def eligible(job: JobNeed, c: Candidate) -> bool:
    """Whether the resource may be given the job automatically (rules in the module docstring)."""
    return takes_jobs(c) and all(c.skills.get(s, 0) >= 1 for s in required_of(job))


def why_not(job: JobNeed, c: Candidate) -> str | None:
    """Why the resource may not be given the job automatically, in words for the record; None if it may."""
    missing = [s for s in required_of(job) if c.skills.get(s, 0) < 1]
    if not c.available:
        return "is not available"
    if c.kind == "partner":
        return "is a partner (partners are given work only with an approval)"
    if free_slots(c) <= 0:
        return "has no free slot"
    return f"lacks {', '.join(missing)}" if missing else None


def _skill_fit(job: JobNeed, c: Candidate) -> float:
    required = required_of(job)
    if not required:
        return 1.0
    return sum(c.skills.get(s, 0) for s in required) / (MAX_LEVEL * len(required))


def risk_of(job: JobNeed) -> float:
    # A breached SLA reports risk > 1; clamping keeps the documented total bounded.
    return min(max(job.risk, 0.0), 1.0)


def _emptiness(load: int, capacity: int) -> float:
    if capacity <= 0:
        return 0.0
    return max(0.0, 1.0 - load / capacity)


def _same_zone(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and a == b


def score(job: JobNeed, c: Candidate, weights: Weights = Weights()) -> Score:
    """The documented score of the job on the resource (formula in the module docstring)."""
    skill = weights.skill * (1 + weights.risk_boost * risk_of(job)) * _skill_fit(job, c)
    load = weights.load * _emptiness(c.load, c.capacity)
    zone = weights.zone if _same_zone(job.zone, c.zone) else 0.0
    return Score(total=skill + load + zone, skill=skill, load=load, zone=zone)


def priority_rank(priority: str) -> int:
    if priority not in PRIORITIES:
        raise Invalid("priority", f"unknown priority {priority!r}, expected one of {', '.join(PRIORITIES)}")
    return PRIORITIES.index(priority)


def rank_jobs(jobs: Sequence[JobNeed]) -> list[JobNeed]:
    """Jobs in allocation order: P1 first, then higher SLA risk first, then id."""
    return sorted(jobs, key=lambda j: (priority_rank(j.priority), -j.risk, j.id))


def _best_index(job: JobNeed, candidates: Sequence[Candidate], weights: Weights) -> tuple[int, Score] | None:
    options = [(i, score(job, c, weights)) for i, c in enumerate(candidates) if eligible(job, c)]
    if not options:
        return None
    return min(options, key=lambda o: (-round(o[1].total, _TIE_DIGITS), candidates[o[0]].load, candidates[o[0]].id))


def best_for(job: JobNeed, candidates: Sequence[Candidate], weights: Weights = Weights()) -> Assignment | None:
    """The eligible candidate with the highest total (ties: lower load, then id), or None if none is eligible."""
    best = _best_index(job, candidates, weights)
    if best is None:
        return None
    index, s = best
    return Assignment(job_id=job.id, resource_id=candidates[index].id, score=s, strategy="greedy")


def allocate_greedy(
    jobs: Sequence[JobNeed], candidates: Sequence[Candidate], weights: Weights = Weights()
) -> list[Assignment]:
    """Jobs in rank order each take their best eligible candidate; loads rise as they go."""
    pool = list(candidates)
    result = []
    for job in rank_jobs(jobs):
        best = _best_index(job, pool, weights)
        if best is None:
            continue
        index, s = best
        result.append(Assignment(job_id=job.id, resource_id=pool[index].id, score=s, strategy="greedy"))
        pool[index] = replace(pool[index], load=pool[index].load + 1)
    return result
