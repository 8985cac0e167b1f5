"""Dispatch's configuration."""
from __future__ import annotations

import json
from pathlib import Path

from pydantic import Field

from services.dispatch.domain.skills import DEFAULT_BY_KIND, SkillMap
from shared.settings import ServiceSettings


class DispatchSettings(ServiceSettings):
    service: str = "dispatch"
    sla_warning_share: float = Field(default=0.75, gt=0, lt=1)
    sla_poll_seconds: float = Field(default=1.0, gt=0)
    allocator_poll_seconds: float = Field(default=2.0, gt=0)
    # This many jobs waiting at once are assigned together, optimally, rather than one by one.
    batch_threshold: int = Field(default=10, ge=2)
    # {"by_category": {"fault > network": ["network"]}, "by_kind": {"fault": ["repair"]}}
    dispatch_skills_file: Path | None = None

    def skill_map(self) -> SkillMap:
        spec = json.loads(self.dispatch_skills_file.read_text()) if self.dispatch_skills_file else {}
        return SkillMap(by_category=spec.get("by_category", {}), by_kind=spec.get("by_kind", dict(DEFAULT_BY_KIND)))
