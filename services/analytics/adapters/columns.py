"""A growable in-memory column table keyed by id: numbers as float64 (NaN for none), labels as codes."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

NONE = "none"


class Vocabulary:
    """Labels as small integer codes, so filters and groups compare integers."""

    def __init__(self) -> None:
        self.labels: list[str] = []
        self.codes: dict[str, int] = {}

    def code(self, label: str | None) -> int:
        label = NONE if label is None else label
        if (code := self.codes.get(label)) is None:
            code = self.codes[label] = len(self.labels)
            self.labels.append(label)
        return code


@dataclass
class Columns:
    """A growable column table keyed by id; `upsert` overwrites a key's row or appends one."""

    numeric: tuple[str, ...]
    labels: tuple[str, ...]
    size: int = 0
    index: dict[str, int] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    vocab: dict[str, Vocabulary] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.vocab = {name: Vocabulary() for name in self.labels}
        self.arrays = {**{n: np.full(0, np.nan) for n in self.numeric}, **{n: np.zeros(0, np.int32) for n in self.labels}}

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name][: self.size]

    def upsert(self, keys: list[str], columns: dict[str, list[Any]]) -> None:
        rows = []
        for key in keys:
            if (row := self.index.get(key)) is None:
                row = self.index[key] = self.size
                self.size += 1
            rows.append(row)
        self._grow(self.size)
        where = np.asarray(rows, dtype=np.int64)
        for name in self.numeric:
            self.arrays[name][where] = np.asarray(columns[name], dtype=np.float64)
        for name in self.labels:
            code = self.vocab[name].code
            self.arrays[name][where] = np.fromiter((code(v) for v in columns[name]), np.int32, len(rows))

    def _grow(self, needed: int) -> None:
        capacity = len(next(iter(self.arrays.values())))
        if needed <= capacity:
            return
        capacity = max(needed, capacity * 2, 1024)
        for name, old in self.arrays.items():
            new = np.full(capacity, np.nan) if old.dtype == np.float64 else np.zeros(capacity, old.dtype)
            new[: len(old)] = old
            self.arrays[name] = new
