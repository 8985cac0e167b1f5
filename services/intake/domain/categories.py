"""The configurable category tree ("fault > equipment > printer")."""
from __future__ import annotations

from typing import Any

from shared.errors import Invalid

SEPARATOR = " > "

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
        path = f"{prefix}{name.strip().lower()}"
        paths.append(path)
        if children:
            paths.extend(_paths(children, path + SEPARATOR))
    return paths


class CategoryTree:
    """Every node is a valid category; values are matched case- and spacing-insensitively."""

    def __init__(self, tree: dict[str, Any] | None = None) -> None:
        self.paths = _paths(tree if tree is not None else DEFAULT_TREE)
        self._canonical = {self._key(p): p for p in self.paths}

    @staticmethod
    def _key(value: str) -> str:
        return ">".join(part.strip().lower() for part in value.split(">"))

    def resolve(self, value: str | None) -> str | None:
        if value is None:
            return None
        canonical = self._canonical.get(self._key(value))
        if canonical is None:
            raise Invalid("category", f"unknown category {value!r}; valid categories: {', '.join(self.paths)}")
        return canonical

    @staticmethod
    def within(category: str | None, prefix: str) -> bool:
        return category is not None and (category == prefix or category.startswith(prefix + SEPARATOR))
