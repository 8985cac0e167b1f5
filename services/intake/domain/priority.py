"""Urgency x impact -> priority through a configurable matrix."""
from __future__ import annotations

from enum import Enum
from typing import Mapping


class Level(str, Enum):
    low = "low"
    medium = "medium"
    high = "high"


class Priority(str, Enum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


Matrix = Mapping[tuple[Level, Level], Priority]

DEFAULT_MATRIX: Matrix = {
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


def prioritise(urgency: Level, impact: Level, matrix: Matrix = DEFAULT_MATRIX) -> Priority:
    return matrix[(urgency, impact)]


def matrix_from_spec(spec: Mapping[str, Mapping[str, str]]) -> Matrix:
    """{"high": {"high": "P1", ...}, ...}: urgency, then impact; every combination required."""
    matrix = {(Level(u), Level(i)): Priority(p) for u, row in spec.items() for i, p in row.items()}
    missing = {(u, i) for u in Level for i in Level} - set(matrix)
    if missing:
        raise ValueError(f"priority matrix misses {sorted((u.value, i.value) for u, i in missing)}")
    return matrix
