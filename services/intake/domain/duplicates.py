"""How alike two requests read: the hint that a new request may repeat an open one."""
from __future__ import annotations

import re
from functools import lru_cache

from rapidfuzz.distance import Indel

THRESHOLD = 0.5
_WORD = re.compile(r"[a-z0-9]{3,}")


@lru_cache(maxsize=16_384)  # a customer's open requests are compared again at each new one
def _words(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text.lower()))


def similarity(title_a: str, text_a: str, title_b: str, text_b: str) -> float:
    """0..1: the better of title likeness and word overlap of title plus description."""
    # Indel similarity, 2 x common subsequence / total length: what difflib's ratio approximates.
    titles = Indel.normalized_similarity(title_a.lower().strip(), title_b.lower().strip())
    a, b = _words(f"{title_a} {text_a}"), _words(f"{title_b} {text_b}")
    overlap = len(a & b) / len(a | b) if a | b else 0.0
    return round(max(titles, overlap), 2)
