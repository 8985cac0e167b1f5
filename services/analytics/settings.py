"""Analytics' configuration: how its read models are folded and rebuilt, and the forecast's staffing."""
from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from services.analytics.service_layer.read_models import Tuning
from shared.settings import ServiceSettings


class AnalyticsSettings(ServiceSettings):
    service: str = "analytics"
    port: int = 8004
    # Events read per page, and folded before facts and checkpoint are written back together.
    read_model_batch_size: int = Field(default=5000, ge=1)
    read_model_flush_every: int = Field(default=100_000, ge=1)
    # How long a replaced read-model version is kept for reports already reading it.
    read_model_grace_seconds: float = Field(default=60.0, ge=0)
    report_timezone: str = "UTC"
    # How often the reports' in-memory copy of the live facts is brought up to date in the background.
    frame_refresh_seconds: float = Field(default=1.0, gt=0)
    productive_hours_per_person: float = Field(default=6.0, gt=0)

    @field_validator("report_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:  # an unknown zone fails at start-up, not on the first report
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    def tuning(self) -> Tuning:
        return Tuning(batch_size=self.read_model_batch_size, flush_every=self.read_model_flush_every,
                      poll_seconds=self.relay_poll_seconds, grace_seconds=self.read_model_grace_seconds)
