"""Intake's configuration: categories, priority matrix and SLA policy from one JSON file."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import Field

from services.intake.domain.categories import CategoryTree
from services.intake.domain.model import Rules
from services.intake.domain.priority import DEFAULT_MATRIX, matrix_from_spec
from services.intake.domain.sla import DEFAULT_POLICY, SlaPolicy
from services.intake.domain.zones import ZoneMap
from shared.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    service: str = "intake"
    # {"categories": {...tree...}, "priority_matrix": {"high": {"high": "P1", ...}, ...},
    #  "sla_policy": {"name": ..., "calendars": [...], "targets": {...}, "by_category": {...}},
    #  "zones": {"<location prefix>": "<zone>", ...}}
    intake_rules_file: Path | None = None
    # How long a customer's service records stay readable after their last request last changed
    # (at least two years by default); then, with no request open, the customer is erased
    # (service_layer/retention.py). How often that is looked at.
    retention_days: int = Field(default=730, ge=1)
    retention_poll_seconds: float = Field(default=3600, gt=0)

    def rules(self) -> Rules:
        spec: dict[str, Any] = json.loads(self.intake_rules_file.read_text()) if self.intake_rules_file else {}
        return Rules(
            policy=SlaPolicy.from_spec(spec["sla_policy"]) if "sla_policy" in spec else DEFAULT_POLICY,
            matrix=matrix_from_spec(spec["priority_matrix"]) if "priority_matrix" in spec else DEFAULT_MATRIX,
            categories=CategoryTree(spec.get("categories")),
            zones=ZoneMap(dict(spec.get("zones", {}))),
        )
