"""The configurable category tree ("fault > equipment > printer").

What makes two spellings one category, and what a branch holds, is the rule every service shares
(`shared.categories`); the tree adds which categories exist.
"""
from __future__ import annotations

from typing import Any

from shared.categories import SEPARATOR, in_branch, normalise
from shared.errors import Invalid

__all__ = ["SEPARATOR", "DEFAULT_TREE", "CategoryTree"]

DEFAULT_TREE: dict[str, Any] = {
    "consultation": ["billing", "product", "account"],
    "fault": {
        "equipment": ["printer", "computer", "phone"],
        "network": ["wifi", "vpn"],
        "software": ["email", "erp"],
        "facilities": ["heating", "lighting", "plumbing"],
    },
    "complaint": ["service", "staff", "delay", "quality"],
    "suggestion": ["product", "service"],
    "internal": ["improvement", "maintenance"],
}


def _paths(tree: Any, prefix: str = "") -> list[str]:
    names = tree.items() if isinstance(tree, dict) else ((leaf, None) for leaf in tree)
    paths = []
    for name, children in names:
        path = normalise(f"{prefix}{name}")
        paths.append(path)
        if children:
            paths.extend(_paths(children, path + SEPARATOR))
    return paths


class CategoryTree:
    """Every node is a valid category; values are matched case- and spacing-insensitively."""

    def __init__(self, tree: dict[str, Any] | None = None) -> None:
        self.paths = _paths(tree if tree is not None else DEFAULT_TREE)
        self._known = set(self.paths)

    def resolve(self, value: str | None) -> str | None:
        if value is None:
            return None
        canonical = normalise(value)
        if canonical not in self._known:
            raise Invalid("category", f"unknown category {value!r}; valid categories: {', '.join(self.paths)}")
        return canonical

    @staticmethod
    def within(category: str | None, prefix: str) -> bool:
        return in_branch(category, prefix)
