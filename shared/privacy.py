"""Hiding a customer's personal data from those who need not see it."""
from __future__ import annotations

import copy
from typing import Any, Iterable


def mask(data: dict[str, Any], paths: Iterable[str]) -> tuple[dict[str, Any], list[str]]:
    """A copy of `data` with the value at each dotted path (that holds one) set to None; and those paths."""
    masked, hidden = copy.deepcopy(data), []
    for path in paths:
        *parents, leaf = path.split(".")
        node: Any = masked
        for key in parents:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict) and node.get(leaf) is not None:
            node[leaf] = None
            hidden.append(path)
    return masked, hidden
