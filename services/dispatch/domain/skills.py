"""Which skills a job needs: configured per category (most specific wins), else per kind."""
from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_BY_KIND = {"fault": ["repair"], "complaint": ["customer-care"], "consultation": ["advice"],
                   "suggestion": ["customer-care"], "internal": ["maintenance"]}


@dataclass(frozen=True)
class SkillMap:
    by_category: dict[str, list[str]] = field(default_factory=dict)
    by_kind: dict[str, list[str]] = field(default_factory=lambda: dict(DEFAULT_BY_KIND))

    def required(self, kind: str, category: str | None) -> list[str]:
        if category:
            matches = [c for c in self.by_category if category == c or category.startswith(c + " > ")]
            if matches:
                return list(self.by_category[max(matches, key=len)])
            parts = [p.strip() for p in category.split(">")]
            return [parts[1] if len(parts) > 1 else parts[0]]  # the category's area, e.g. "equipment"
        return list(self.by_kind.get(kind, ["general"]))
