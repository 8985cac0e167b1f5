"""Survey submissions per second, durable (SurveyReturned committed before the 201), next to the
bare FastAPI ceiling (a POST validating the same body, writing nothing), 64 clients, one run.
Links are single use: thousands of closed requests are prepared first through the service layer.
"""
from __future__ import annotations

import asyncio
import os
import uuid

import orjson

from benchmarks.common import summary, with_servers, write_result
from benchmarks.intake_submit import start
from benchmarks.loadgen import build_requests, closed_loop
from services.feedback.bootstrap import bootstrap
from services.feedback.domain import commands as cmd
from services.feedback.settings import FeedbackSettings
from shared.aggregate import IdSource
from shared.migrations import migrate
from shared.runtime.embedded import free_port

CLIENTS, SECONDS, SURVEYS = 64, 5.0, 16_000  # more links than a run can use
BODY = orjson.dumps({"csat": 4, "nps": 8, "dimensions": {"reliability": 4, "empathy": 5}, "comment": "fine"})


async def prepare(url: str, bootstrap_servers: str) -> list[bytes]:
    """Closed requests with their survey links, as confirmation would leave them."""
    settings = FeedbackSettings(database_url=url, kafka_bootstrap_servers=bootstrap_servers)
    app = bootstrap(settings)
    f, runtime = app.state.feedback, app.state.runtime
    await migrate(runtime.db.engine, runtime.migrations, settings.schema_name)
    tokens = []
    for _ in range(SURVEYS):
        request_id = str(uuid.uuid4())
        async with f.db.begin() as conn:  # as feedback's consumer takes dispatch's IssueResolved
            await f.tables.note_request(conn, request_id, customer_id="bench")
            await f.bus.handle_in(f.unit_on(conn, IdSource()), cmd.RequestConfirmation(request_id, "x", "y"))
        closure = (await f.bus.handle(cmd.ConfirmResolution(request_id, cmd.Caller("bench")))).body
        assert closure.survey_id and closure.survey_expires
        tokens.append(f.links.mint(request_id, closure.survey_id, closure.survey_expires))
    await runtime.db.dispose()
    return [build_requests("bench", f"/v1/surveys/{t}", [BODY], {})[0] for t in tokens]


async def measure(url: str, bootstrap_servers: str) -> dict:
    surveys = await prepare(url, bootstrap_servers)
    env = {**os.environ, "DATABASE_URL": url, "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
           "KAFKA_IDEMPOTENCE": "false", "LOG_LEVEL": "WARNING"}
    bare_port, port = free_port(), free_port()
    processes = [start(["-m", "benchmarks.bare_survey_app", str(bare_port)], env, bare_port),
                 start(["-m", "shared.cli", "serve", "feedback", "--port", str(port)], env, port)]
    try:
        bare_reqs = build_requests("bench", "/v1/surveys/x", [BODY], {})
        await closed_loop("127.0.0.1", bare_port, bare_reqs, CLIENTS, 1.0, 201)
        half = len(surveys) // 2
        bare, real = [], []
        for part in (surveys[:half], surveys[half:]):
            bare.append((await closed_loop("127.0.0.1", bare_port, bare_reqs, CLIENTS, SECONDS, 201)).report())
            run = await closed_loop("127.0.0.1", port, part, CLIENTS, SECONDS, 201)
            real.append(run.report())
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)
    real_rps = [r["requests_per_second"] for r in real]
    bare_rps = [r["requests_per_second"] for r in bare]
    result = {
        "what": "POST /v1/surveys/{token} durable, 64 clients, each link used once; bare FastAPI ceiling alongside",
        "feedback_survey": {"requests_per_second": summary(real_rps), "runs": real},
        "bare_fastapi_ceiling": {"requests_per_second": summary(bare_rps), "runs": bare},
        "ratio_to_bare_fastapi": summary([r / b for r, b in zip(real_rps, bare_rps, strict=True)], 2),
        "note": "runs whose links ran out end early; errors count anything but 201",
    }
    write_result("feedback_survey_submit", result)
    return result


async def main() -> dict:
    return await with_servers(measure)


if __name__ == "__main__":
    print(orjson.dumps(asyncio.run(main()), option=orjson.OPT_INDENT_2).decode())
