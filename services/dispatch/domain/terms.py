"""What a job owes, as intake last triaged the request. Pure.

Intake's newest RequestTriaged decides all of it (priority, category and the skills that follow
from it, the zone the work is in, the calendar and both deadlines), so a re-triage replaces the terms whole: keeping any
part of the old triage is how a job once kept skills nobody had, or clocks on the old calendar.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Sequence

from shared.calendar import BusinessCalendar
from shared.contracts import dispatch as ev
from shared.contracts import intake


@dataclass(frozen=True)
class Terms:
    priority: str
    emergency: bool
    category: str | None
    required_skills: tuple[str, ...]
    zone: str | None  # where the work is: the allocation's same-zone term reads it
    calendar: BusinessCalendar
    respond_by: datetime
    resolve_by: datetime

    @classmethod
    def triaged(cls, e: intake.RequestTriaged, required_skills: Sequence[str]) -> Terms:
        """The terms intake's triage sets; the skills are dispatch's reading of its kind and category."""
        return cls(e.priority, e.emergency, e.category, tuple(required_skills), e.zone,
                   BusinessCalendar.from_spec(e.sla.calendar), e.respond_by, e.resolve_by)

    @classmethod
    def opened(cls, e: ev.JobOpened) -> Terms:
        return cls(e.priority, e.emergency, e.category, tuple(e.required_skills), e.zone,
                   BusinessCalendar.from_spec(e.calendar), e.respond_by, e.resolve_by)

    def reprioritised(self, e: ev.JobReprioritised) -> Terms:
        """The terms after `e`. None (an upcast v1 record) leaves category and skills, or the
        calendar, as they were."""
        category, skills = (e.category, tuple(e.required_skills)) if e.required_skills is not None \
            else (self.category, self.required_skills)
        calendar = BusinessCalendar.from_spec(e.calendar) if e.calendar is not None else self.calendar
        return replace(self, priority=e.priority, emergency=e.emergency, category=category, required_skills=skills,
                       zone=e.zone, calendar=calendar, respond_by=e.respond_by, resolve_by=e.resolve_by)
