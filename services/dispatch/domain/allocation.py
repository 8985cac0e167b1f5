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
- batch: one optimal assignment of jobs to capacity slots. A resource with n free slots offers n
  slots; its k-th slot (k = 0..n-1) scores load as if k more jobs were already there. The solver
  maximises, in this order: the jobs served weighted by priority (P1 4, P2 3, P3 2, P4 1 per job,
  scaled to outweigh any score difference: so as many jobs as possible, and never a lower-priority
  job in place of a higher one), then the sum of totals. The priority weight is only the solver's
  objective; each Assignment records the plain score above. When one resource takes several jobs,
  the higher-ranked job takes the emptier slot, as it would under greedy.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

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


def _takes_jobs(c: Candidate) -> bool:
    return c.available and c.kind != "partner" and free_slots(c) > 0


def _required(job: JobNeed) -> tuple[str, ...]:
    return tuple(dict.fromkeys(job.required_skills))


def eligible(job: JobNeed, c: Candidate) -> bool:
    """Whether the resource may be given the job automatically (rules in the module docstring)."""
    return _takes_jobs(c) and all(c.skills.get(s, 0) >= 1 for s in _required(job))


def _skill_fit(job: JobNeed, c: Candidate) -> float:
    required = _required(job)
    if not required:
        return 1.0
    return sum(c.skills.get(s, 0) for s in required) / (MAX_LEVEL * len(required))


def _risk(job: JobNeed) -> float:
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
    skill = weights.skill * (1 + weights.risk_boost * _risk(job)) * _skill_fit(job, c)
    load = weights.load * _emptiness(c.load, c.capacity)
    zone = weights.zone if _same_zone(job.zone, c.zone) else 0.0
    return Score(total=skill + load + zone, skill=skill, load=load, zone=zone)


def _priority_rank(priority: str) -> int:
    if priority not in PRIORITIES:
        raise Invalid("priority", f"unknown priority {priority!r}, expected one of {', '.join(PRIORITIES)}")
    return PRIORITIES.index(priority)


def rank_jobs(jobs: Sequence[JobNeed]) -> list[JobNeed]:
    """Jobs in allocation order: P1 first, then higher SLA risk first, then id."""
    return sorted(jobs, key=lambda j: (_priority_rank(j.priority), -j.risk, j.id))


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


def _skill_matrices(jobs: Sequence[JobNeed], pool: Sequence[Candidate]) -> tuple[np.ndarray, np.ndarray]:
    """needs[j, s] = 1 if job j requires skill s; levels[c, s] = c's level in it (0 if absent)."""
    names = {s: i for i, s in enumerate(sorted({s for j in jobs for s in j.required_skills}))}
    needs = np.zeros((len(jobs), len(names)))
    for row, job in enumerate(jobs):
        needs[row, [names[s] for s in _required(job)]] = 1.0
    levels = np.zeros((len(pool), len(names)))
    for row, c in enumerate(pool):
        for s, level in c.skills.items():
            if s in names:
                levels[row, names[s]] = level
    return needs, levels


def _zone_matches(jobs: Sequence[JobNeed], pool: Sequence[Candidate]) -> np.ndarray:
    codes: dict[str, int] = {}
    # Unset zones get codes that can never meet: -1 for jobs, -2 for candidates.
    job_zones = np.array([codes.setdefault(j.zone, len(codes)) if j.zone else -1 for j in jobs])
    pool_zones = np.array([codes.get(c.zone, -2) if c.zone else -2 for c in pool])
    return job_zones[:, None] == pool_zones[None, :]


def _pair_matrices(
    jobs: Sequence[JobNeed], pool: Sequence[Candidate], weights: Weights
) -> tuple[np.ndarray, np.ndarray]:
    """(eligible, skill + zone) for every job x candidate; the load part depends on the slot."""
    needs, levels = _skill_matrices(jobs, pool)
    counts = needs.sum(axis=1)
    covered = needs @ (levels >= 1).T.astype(float) >= counts[:, None]
    fit = np.where(counts[:, None] > 0, (needs @ levels.T) / (MAX_LEVEL * np.maximum(counts, 1))[:, None], 1.0)
    risk = np.array([_risk(j) for j in jobs])
    skill = weights.skill * (1 + weights.risk_boost * risk)[:, None] * fit
    return covered, skill + weights.zone * _zone_matches(jobs, pool)


def _slots(pool: Sequence[Candidate], weights: Weights) -> tuple[np.ndarray, np.ndarray]:
    """(candidate index, load part) per slot: slot k of a candidate scores load as load + k."""
    free = np.array([free_slots(c) for c in pool])
    owner = np.repeat(np.arange(len(pool)), free)
    k = np.arange(len(owner)) - np.repeat(np.cumsum(free) - free, free)
    load = np.array([c.load for c in pool])[owner] + k
    capacity = np.array([c.capacity for c in pool], dtype=float)[owner]
    return owner, weights.load * np.maximum(0.0, 1.0 - load / capacity)


def _priority_weights(jobs: Sequence[JobNeed]) -> np.ndarray:
    return np.array([len(PRIORITIES) - _priority_rank(j.priority) for j in jobs], dtype=float)


def _solve(value: np.ndarray, ok: np.ndarray, weight: np.ndarray) -> list[tuple[int, int]]:
    """Pairs (row, column) maximising priority weight served, then value; only ok pairs."""
    rows, cols = value.shape
    # One priority step outweighs the whole score of any assignment, so scores only break priority ties.
    step = 1.0 + 2.0 * min(rows, cols) * float(np.abs(value[ok]).max())
    cost = np.where(ok, -(value + step * weight[:, None]), np.inf)
    # A zero-cost "unassigned" column per job keeps the problem feasible whatever the mask.
    cost = np.hstack([cost, np.zeros((rows, rows))])
    chosen_rows, chosen_cols = linear_sum_assignment(cost)
    return [(int(r), int(c)) for r, c in zip(chosen_rows, chosen_cols, strict=True) if c < cols]


def allocate_batch(
    jobs: Sequence[JobNeed], candidates: Sequence[Candidate], weights: Weights = Weights()
) -> list[Assignment]:
    """The optimal assignment of jobs to capacity slots (objective in the module docstring), in rank order."""
    ranked = rank_jobs(jobs)
    pool = sorted((c for c in candidates if _takes_jobs(c)), key=lambda c: c.id)
    if not ranked or not pool:
        return []
    covered, base = _pair_matrices(ranked, pool, weights)
    owner, load_part = _slots(pool, weights)
    ok = covered[:, owner]
    # Only jobs and slots that have some eligible partner go to the solver.
    rows, cols = np.flatnonzero(ok.any(axis=1)), np.flatnonzero(ok.any(axis=0))
    if rows.size == 0:
        return []
    value = base[np.ix_(rows, owner[cols])] + load_part[cols][None, :]
    pairs = _solve(value, ok[np.ix_(rows, cols)], _priority_weights([ranked[r] for r in rows]))
    chosen = sorted((int(rows[r]), int(owner[cols[c]])) for r, c in pairs)
    return _assignments(ranked, pool, chosen, weights)


def _assignments(
    ranked: Sequence[JobNeed], pool: Sequence[Candidate], chosen: list[tuple[int, int]], weights: Weights
) -> list[Assignment]:
    """Scores for (job, candidate) pairs in rank order; a candidate's k-th job scores with load + k."""
    taken = [0] * len(pool)
    result = []
    for job_index, pool_index in chosen:
        c = pool[pool_index]
        s = score(ranked[job_index], replace(c, load=c.load + taken[pool_index]), weights)
        taken[pool_index] += 1
        result.append(Assignment(job_id=ranked[job_index].id, resource_id=c.id, score=s, strategy="batch"))
    return result
