"""Urgency x impact -> priority, and the service-level targets that follow from it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import Enum


class Level(str, Enum):
    low = "low"
    medium = "medium"
    high = "high"


class Priority(str, Enum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


DEFAULT_MATRIX: dict[tuple[Level, Level], Priority] = {
    (Level.high, Level.high): Priority.P1,
    (Level.high, Level.medium): Priority.P2,
    (Level.medium, Level.high): Priority.P2,
    (Level.high, Level.low): Priority.P3,
    (Level.medium, Level.medium): Priority.P3,
    (Level.low, Level.high): Priority.P3,
    (Level.medium, Level.low): Priority.P4,
    (Level.low, Level.medium): Priority.P4,
    (Level.low, Level.low): Priority.P4,
}


def prioritise(urgency: Level, impact: Level, matrix: dict[tuple[Level, Level], Priority] = DEFAULT_MATRIX) -> Priority:
    return matrix[(urgency, impact)]


@dataclass(frozen=True)
class Target:
    respond: timedelta
    resolve: timedelta


@dataclass(frozen=True)
class SlaPolicy:
    """Round-the-clock targets per priority; business-hours calendars arrive with issue 3."""

    name: str
    calendar: str
    targets: dict[Priority, Target]

    def target(self, priority: Priority) -> Target:
        return self.targets[priority]


DEFAULT_POLICY = SlaPolicy(
    name="default-2026",
    calendar="24x7",
    targets={
        Priority.P1: Target(timedelta(hours=1), timedelta(hours=4)),
        Priority.P2: Target(timedelta(hours=4), timedelta(hours=24)),
        Priority.P3: Target(timedelta(hours=24), timedelta(hours=72)),
        Priority.P4: Target(timedelta(hours=48), timedelta(hours=120)),
    },
)
