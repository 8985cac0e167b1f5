"""Feedback as bootstrap wires it: the bus for commands, and what queries and loops read."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from services.feedback.adapters.survey_links import SurveyLinks
from services.feedback.adapters.tables import FeedbackTables
from services.feedback.domain.actions import ImprovementAction
from services.feedback.domain.closure import Closure
from services.feedback.domain.items import FeedbackItem
from services.feedback.service_layer.unit_of_work import FeedbackUnitOfWork
from shared.aggregate import IdSource
from shared.clock import Clock
from shared.db import Conn, Database
from shared.messagebus import MessageBus
from shared.repository import EventSourcedRepository
from shared.shredding.keyring import KeyRing


@dataclass
class Feedback:
    bus: MessageBus
    # A unit joined to a transaction the caller holds (the consumer's, the closer's).
    unit_on: Callable[[Conn, IdSource], FeedbackUnitOfWork]
    db: Database
    clock: Clock
    tables: FeedbackTables
    links: SurveyLinks
    # Queries read the streams directly (a GET is no command).
    closures: EventSourcedRepository[Closure]
    items: EventSourcedRepository[FeedbackItem]
    actions: EventSourcedRepository[ImprovementAction]
    keys: KeyRing  # opens what intake sealed (a complaint's text); records who read what
