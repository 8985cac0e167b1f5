"""Issue 12: every feedback answer carries the version its stream is at after the command (the
answers were built from the aggregate as loaded, one command behind)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from services.intake.domain.priority import Level
from shared.auth import Role
from tests.api.conftest import MONDAY_10
from tests.api.test_feedback import resolved_request
from tests.support.app import as_role

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]
DESK = as_role(Role.agent, "desk-1")


async def stream_version(app: Any, stream_id: str) -> int:  # noqa: ANN401
    f = app.state.feedback
    async with f.db.connect() as conn:
        return await f.items.store.stream_version(conn, stream_id)


async def test_an_items_answers_carry_its_streams_version(feedback, broker):
    app, client, _ = feedback
    made = await client.post("/v1/feedback", json={"kind": "complaint", "text": "nobody came"}, headers=DESK)
    item_id = made.json()["id"]
    for command, body in (("acknowledge", {"note": "on it"}), ("investigate", {"findings": "van broke down"}),
                          ("resolve", {"outcome": "rebooked"})):
        answer = await client.post(f"/v1/feedback/{item_id}/{command}", json=body, headers=DESK)
        assert answer.status_code == 200, answer.text
        assert answer.json()["version"] == await stream_version(app, f"feedback-{item_id}"), command
    read = await client.get(f"/v1/feedback/{item_id}", headers=DESK)
    assert read.json()["version"] == 4


async def test_a_closures_answers_carry_its_streams_version(feedback, broker):
    app, client, _ = feedback
    request_id, customer = await resolved_request(feedback, broker, urgency=Level.high, impact=Level.high)
    confirmed = await client.post(f"/v1/requests/{request_id}/confirmation", json={"accepted": True},
                                  headers=as_role(Role.customer, customer))
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["version"] == await stream_version(app, f"closure-{request_id}")
    link = (await client.get(f"/v1/requests/{request_id}/survey", headers=as_role(Role.customer, customer))).json()
    returned = await client.post(f"/v1/surveys/{link['token']}", json={"csat": 5})
    assert returned.status_code == 201, returned.text
    assert returned.json()["version"] == await stream_version(app, f"closure-{request_id}")


async def test_an_actions_answers_carry_its_streams_version(feedback, broker):
    app, client, _ = feedback
    due = (MONDAY_10 + timedelta(days=30)).isoformat()
    opened = await client.post("/v1/actions", headers=DESK, json={"title": "SMS updates", "plan": "text at each step",
                                                                  "owner": "lead-1", "due_at": due})
    assert opened.status_code == 201 and opened.json()["version"] == 1, opened.text
    progressed = await client.post(f"/v1/actions/{opened.json()['id']}/progress", headers=DESK,
                                   json={"stage": "do", "note": "pilot"})
    assert progressed.json()["version"] == 2, progressed.text
