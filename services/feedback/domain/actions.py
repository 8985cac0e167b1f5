"""Improvement actions: plan, do, check, act; owned, due, and tied to the feedback they answer."""
from __future__ import annotations

from datetime import datetime

from shared.aggregate import Aggregate
from shared.contracts import feedback as ev
from shared.errors import Invalid, InvalidTransition

STAGES = ("plan", "do", "check", "act", "done")


class ImprovementAction(Aggregate):
    def __init__(self) -> None:
        super().__init__()
        self.id, self.stage, self.owner, self.title, self.plan = "", "plan", "", "", ""
        self.due_at: datetime | None = None
        self.answers: list[str] = []
        self.opened_by = ""
        self.opened_at: datetime | None = None
        self.history: list[dict[str, object]] = []  # each step: stage, note, by, at

    @classmethod
    def open(cls, action_id: str, title: str, plan: str, owner: str, due_at: datetime, answers: list[str],
             by: str, now: datetime) -> "ImprovementAction":
        if due_at <= now:
            raise Invalid("due_at", "must be in the future")
        action = cls()
        action.record(ev.ImprovementActionOpened(action_id=action_id, title=title, plan=plan, owner=owner,
                                                 due_at=due_at, answers=answers, opened_by=by, opened_at=now))
        return action

    def progress(self, stage: str, note: str, by: str, now: datetime) -> None:
        """Forward through the cycle; `check` may send it back to `plan` (the check failed)."""
        if stage not in STAGES:
            raise Invalid("stage", f"one of {', '.join(STAGES)}")
        current, target = STAGES.index(self.stage), STAGES.index(stage)
        if self.stage == "done" or not (target == current + 1 or (self.stage == "check" and stage == "plan")):
            raise InvalidTransition(f"action {self.id} is at {self.stage}: it cannot go to {stage}")
        self.record(ev.ImprovementActionProgressed(action_id=self.id, stage=stage, note=note, by=by, at=now))

    def when_ImprovementActionOpened(self, e: ev.ImprovementActionOpened) -> None:
        self.id, self.owner, self.due_at, self.answers = e.action_id, e.owner, e.due_at, list(e.answers)
        self.title, self.plan, self.opened_by, self.opened_at = e.title, e.plan, e.opened_by, e.opened_at

    def when_ImprovementActionProgressed(self, e: ev.ImprovementActionProgressed) -> None:
        self.stage = e.stage
        self.history.append({"stage": e.stage, "note": e.note, "by": e.by, "at": e.at})
