"""Batch allocation: many waiting jobs assigned together, optimally, to capacity slots. Pure.

One optimal assignment of jobs to capacity slots. A resource with n free slots offers n slots; its
k-th slot (k = 0..n-1) scores load as if k more jobs were already there. The solver maximises, in
this order: the jobs served weighted by priority (P1 4, P2 3, P3 2, P4 1 per job, scaled to
outweigh any score difference: so as many jobs as possible, and never a lower-priority job in
place of a higher one), then the sum of totals (the score of `allocation.py`). The priority weight
is only the solver's objective; each Assignment records the plain score. When one resource takes
several jobs, the higher-ranked job takes the emptier slot, as it would under greedy.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from services.dispatch.domain.allocation import (
    MAX_LEVEL,
    PRIORITIES,
    Assignment,
    Candidate,
    JobNeed,
    Weights,
    free_slots,
    priority_rank,
    rank_jobs,
    required_of,
    risk_of,
    score,
    takes_jobs,
)


def _skill_matrices(jobs: Sequence[JobNeed], pool: Sequence[Candidate]) -> tuple[np.ndarray, np.ndarray]:
    """needs[j, s] = 1 if job j requires skill s; levels[c, s] = c's level in it (0 if absent)."""
    names = {s: i for i, s in enumerate(sorted({s for j in jobs for s in j.required_skills}))}
    needs = np.zeros((len(jobs), len(names)))
    for row, job in enumerate(jobs):
        needs[row, [names[s] for s in required_of(job)]] = 1.0
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
    risk = np.array([risk_of(j) for j in jobs])
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
    return np.array([len(PRIORITIES) - priority_rank(j.priority) for j in jobs], dtype=float)


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
    pool = sorted((c for c in candidates if takes_jobs(c)), key=lambda c: c.id)
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
