"""Wires feedback's dependencies explicitly, in one place; tests inject settings and clock here."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI

from services.feedback.adapters.rebuild import FeedbackTablesRebuild
from services.feedback.adapters.survey_links import SurveyLinks
from services.feedback.adapters.tables import FeedbackTables
from services.feedback.adapters.unit_of_work import FeedbackStreams, PostgresFeedbackUnitOfWork
from services.feedback.domain.actions import ImprovementAction
from services.feedback.domain.closure import Closure, FollowUpRule
from services.feedback.domain.items import FeedbackItem
from services.feedback.domain.policy import Policy
from services.feedback.entrypoints import actions_api, api, consumers, handling_api, survey_page
from services.feedback.service_layer.closer import Closer
from services.feedback.service_layer.feedback import Feedback
from services.feedback.service_layer.handlers import HANDLERS
from services.feedback.settings import FeedbackSettings
from shared.aggregate import IdSource
from shared.clock import Clock
from shared.contracts.feedback import registry
from shared.db import Conn
from shared.http import read_models
from shared.http.app import create_app
from shared.keys import configured_secret
from shared.messagebus import MessageBus, inject
from shared.repository import EventSourcedRepository
from shared.service import ConsumerSpec, ServiceRuntime
from shared.settings import DEV_SURVEY_LINK_SECRET, Settings

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"
DEFAULT_PORT = 8003
SETTINGS = FeedbackSettings


def survey_link_secret(settings: Settings) -> str:
    """Survey links' own key (SURVEY_LINK_SECRET), never the bearer tokens' one: a link key that
    leaks must not mint tokens, and a token key must not forge links. MissingSecret if unset."""
    return configured_secret(settings.survey_link_secret, DEV_SURVEY_LINK_SECRET, settings.dev_secrets,
                             "SURVEY_LINK_SECRET is not set: survey links need their own key (not JWT_SECRET); "
                             "DEV_SECRETS=true is for local development only")


def policy_of(settings: FeedbackSettings) -> Policy:
    return Policy(confirmation_wait=timedelta(hours=settings.confirmation_wait_hours),
                  survey_ttl=timedelta(days=settings.survey_ttl_days),
                  follow_up_in=timedelta(hours=settings.follow_up_hours),
                  deadlines=settings.deadlines(),
                  follow_ups=FollowUpRule(frozenset(settings.follow_up_priorities), frozenset(settings.follow_up_kinds),
                                          timedelta(hours=settings.follow_up_hours)))


def bootstrap(settings: FeedbackSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or FeedbackSettings(service="feedback", port=DEFAULT_PORT)
    links = SurveyLinks(survey_link_secret(settings), settings.jwt_issuer, settings.public_url)
    runtime = ServiceRuntime(settings, migrations=MIGRATIONS, clock=clock)
    streams = FeedbackStreams(
        closures=EventSourcedRepository(runtime.store, registry, Closure, "closure", runtime.clock, runtime.keys),
        items=EventSourcedRepository(runtime.store, registry, FeedbackItem, "feedback", runtime.clock, runtime.keys),
        actions=EventSourcedRepository(runtime.store, registry, ImprovementAction, "action", runtime.clock),
    )
    tables = FeedbackTables(settings.schema_name)

    def unit(ids: IdSource, conn: Conn | None = None) -> PostgresFeedbackUnitOfWork:
        return PostgresFeedbackUnitOfWork(streams, tables, runtime.clock, settings.schema_name, runtime.db, ids, conn,
                                          runtime.keys)

    bus = MessageBus(lambda ids: unit(ids), inject(HANDLERS, clock=runtime.clock, policy=policy_of(settings)))
    f = Feedback(bus=bus, unit_on=lambda conn, ids: unit(ids, conn), db=runtime.db, clock=runtime.clock,
                 tables=tables, links=links, keys=runtime.keys,
                 closures=streams.closures, items=streams.items, actions=streams.actions)
    closer = Closer(f, settings.close_poll_seconds)
    runtime.loops.append(closer)
    runtime.working_tables.append(FeedbackTablesRebuild(streams, settings.schema_name))
    runtime.consumers.append(ConsumerSpec(consumers.CONSUMER, consumers.TOPICS, consumers.follower(f)))
    app = create_app(service="feedback", runtime=runtime)
    app.state.feedback, app.state.closer = f, closer
    app.state.public_prefixes.append("/v1/surveys/")  # a survey link's token is in its path, not a header
    app.include_router(api.router)
    app.include_router(handling_api.router)
    app.include_router(actions_api.router)
    app.include_router(survey_page.router)
    app.include_router(read_models.router)  # admins: positions and rebuilds (shared)
    return app
