"""Dispatch batch allocation: 1,000 jobs x 500 resources solved optimally, next to greedy on the same instance.

Pure domain code, no database: `python -m benchmarks.dispatch_batch`.
"""
from __future__ import annotations

import random
import time
from typing import Callable, Sequence

from benchmarks.common import summary, write_result
from services.dispatch.domain.allocation import (
    PRIORITIES,
    Assignment,
    Candidate,
    JobNeed,
    allocate_greedy,
)
from services.dispatch.domain.batch import allocate_batch

JOBS, RESOURCES, RUNS, SEED = 1000, 500, 3, 20261121
SKILLS = tuple(f"skill-{i:02d}" for i in range(12))
ZONES = tuple(f"zone-{i}" for i in range(8))


def instance(seed: int = SEED) -> tuple[list[JobNeed], list[Candidate]]:
    rng = random.Random(seed)
    jobs = [
        JobNeed(
            id=f"job-{i:04d}",
            # Fewer urgent than routine jobs, as on a real desk.
            priority=rng.choices(PRIORITIES, weights=(1, 2, 4, 3))[0],
            required_skills=tuple(rng.sample(SKILLS, rng.randint(1, 3))),
            zone=rng.choice(ZONES),
            risk=round(rng.random(), 3),
        )
        for i in range(JOBS)
    ]
    resources = [
        Candidate(
            id=f"res-{i:03d}",
            kind=rng.choice(("person", "person", "person", "equipment")),
            skills={s: rng.randint(1, 5) for s in rng.sample(SKILLS, rng.randint(3, 6))},
            capacity=rng.randint(1, 3),
            load=0,
            zone=rng.choice(ZONES),
            available=True,
        )
        for i in range(RESOURCES)
    ]
    return jobs, resources


def timed(allocate: Callable[..., list[Assignment]], jobs: Sequence[JobNeed], resources: Sequence[Candidate]):
    seconds, result = [], []
    for _ in range(RUNS):
        start = time.perf_counter()
        result = allocate(jobs, resources)
        seconds.append(time.perf_counter() - start)
    return seconds, result


def outcome(seconds: list[float], assignments: list[Assignment]) -> dict:
    return {
        "seconds": summary(seconds, 3),
        "assigned": len(assignments),
        "total_score": round(sum(a.score.total for a in assignments), 3),
    }


def main() -> dict:
    jobs, resources = instance()
    batch_seconds, batch = timed(allocate_batch, jobs, resources)
    greedy_seconds, greedy = timed(allocate_greedy, jobs, resources)
    result = {
        "what": f"{JOBS} jobs x {RESOURCES} resources (capacity 1-3), optimal batch vs greedy, median of {RUNS}",
        "jobs": JOBS,
        "resources": RESOURCES,
        "slots": sum(r.capacity - r.load for r in resources),
        "batch": outcome(batch_seconds, batch),
        "greedy": outcome(greedy_seconds, greedy),
        "goal": "1,000 x 500 in <= 2 s",
    }
    write_result("dispatch_batch_assignment", result)
    return result


if __name__ == "__main__":
    print(main())
