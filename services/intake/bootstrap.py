"""Wires intake's dependencies explicitly; tests inject settings, clock and rules here."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Sequence

from fastapi import FastAPI

from services.intake.adapters.projection import RequestsProjection
from services.intake.adapters.queries import RequestQueries
from services.intake.adapters.unit_of_work import PostgresIntakeUnitOfWork, SubmitUnitOfWork
from services.intake.domain import commands as cmd
from services.intake.domain.erasure import Erasure
from services.intake.domain.model import Rules, ServiceRequest
from services.intake.entrypoints import api, consumers, customers_api, queries_api
from services.intake.service_layer.handlers import HANDLERS, Intake, OpenedRequests
from services.intake.service_layer.retention import Retention
from services.intake.settings import IntakeSettings
from shared.aggregate import IdSource
from shared.batching import BatchLoader
from shared.clock import Clock
from shared.contracts.intake import registry
from shared.db import Conn
from shared.http import read_models
from shared.http.app import create_app
from shared.messagebus import MessageBus, inject
from shared.repository import EventSourcedRepository
from shared.service import ConsumerSpec, ServiceRuntime

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"
DEFAULT_PORT = 8001
SETTINGS = IntakeSettings


def bootstrap(
    settings: IntakeSettings | None = None, *, clock: Clock | None = None, rules: Rules | None = None
) -> FastAPI:
    settings = settings or IntakeSettings(service="intake", port=DEFAULT_PORT)
    runtime = ServiceRuntime(settings, migrations=MIGRATIONS, clock=clock)
    runtime.keys.keep_opened(("title", "description"))  # compared at the customer's next request
    queries = RequestQueries(settings.schema_name)
    loader_connection = runtime.held_connection()  # the duplicate hint's loader runs one query at a time

    async def open_requests(customer_ids: Sequence[str]) -> dict[str, list[tuple[str, str, str]]]:
        async with loader_connection.use() as conn:
            return await queries.open_of_customers(conn, customer_ids)

    requests = EventSourcedRepository(runtime.store, registry, ServiceRequest, "request", runtime.clock, runtime.keys)
    erasures = EventSourcedRepository(runtime.store, registry, Erasure, "customer", runtime.clock)
    rules = rules or settings.rules()

    def unit(ids: IdSource, conn: Conn | None = None) -> PostgresIntakeUnitOfWork:
        return PostgresIntakeUnitOfWork(requests, erasures, settings.schema_name, runtime.db, ids, conn, runtime.keys)

    def submit_unit(ids: IdSource) -> SubmitUnitOfWork:
        return SubmitUnitOfWork(requests, settings.schema_name, runtime.db, runtime.append, ids, runtime.keys)

    candidates = OpenedRequests(BatchLoader(open_requests, default=[]), runtime.keys)
    handlers = inject(HANDLERS, clock=runtime.clock, rules=rules, open_requests=candidates, erase_key=runtime.keys.erase)
    intake = Intake(
        requests=requests,
        db=runtime.db,
        clock=runtime.clock,
        rules=rules,
        queries=queries,
        # Submit, the hot path, group-commits its appends (adapters/unit_of_work.py says why).
        bus=MessageBus(unit, handlers, units={cmd.SubmitRequest: submit_unit}),
        unit_on=lambda conn, ids: unit(ids, conn),
        keys=runtime.keys,
    )
    runtime.projections.append(RequestsProjection(settings.schema_name))
    runtime.loops.append(Retention(intake, timedelta(days=settings.retention_days), settings.retention_poll_seconds))
    runtime.consumers.append(ConsumerSpec(consumers.CONSUMER, consumers.TOPICS, consumers.stage_follower(intake)))
    app = create_app(service="intake", runtime=runtime)
    app.state.intake = intake
    if settings.http_fast_lane:
        app.state.fast_lane[("POST", "/v1/requests")] = api.submit_lane(app)
    app.include_router(api.router)
    app.include_router(queries_api.router)
    app.include_router(customers_api.router)
    app.include_router(read_models.router)  # admins: positions and rebuilds (shared)
    return app
