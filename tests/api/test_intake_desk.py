"""Issue 12, symptom 11 (intake's parts): taking ownership, contact `via` aligned with channel
names, and the README's own example accepted as written."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from shared.auth import Role
from tests.api.conftest import IntakeApi
from tests.support.waiting import until

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]
README = Path(__file__).resolve().parents[2] / "README.md"


async def test_the_readme_curl_example_is_accepted_as_written(intake: IntakeApi):
    example = re.search(r"-d '(\{.*?\})'", README.read_text(), re.S)
    assert example, "the README's Try it section has a curl -d body"
    response = await intake.client.post("/v1/requests", content=example.group(1),
                                        headers={**_agent(), "content-type": "application/json"})
    assert response.status_code == 201, response.text
    assert json.loads(example.group(1))["category"] == response.json()["category"]


async def test_an_agent_takes_ownership_of_a_self_service_request(intake: IntakeApi):
    customer = "cust-own"
    created = await intake.submit(Role.customer, customer, customer={"id": customer, "name": "Ann"})
    request_id = created.json()["id"]
    assert created.json()["owner"] == "self-service"
    taken = await intake.command(request_id, "take-ownership", None, Role.agent, "agent-ted")
    assert taken.status_code == 200 and taken.json()["owner"] == "agent-ted", taken.text
    again = await intake.command(request_id, "take-ownership", None, Role.agent, "agent-ted")
    assert again.status_code == 200 and again.json()["version"] == taken.json()["version"]  # nothing new

    async def listed() -> bool:  # the list is a projection: it follows shortly
        items = (await intake.get("/v1/requests", params={"owner": "agent-ted"})).json()["items"]
        return request_id in [i["id"] for i in items]
    await until(listed)
    withdrawn = await intake.command(request_id, "withdraw", {"reason": "solved"})
    assert withdrawn.status_code == 200
    refused = await intake.command(request_id, "take-ownership", None, Role.agent, "agent-sue")
    assert refused.status_code == 409 and "withdrawn" in refused.json()["detail"]


@pytest.mark.parametrize(("sent", "recorded"), [("phone", "call"), ("walk_in", "visit"), ("sms", "sms")])
async def test_a_contact_may_name_its_way_as_a_channel_does(intake: IntakeApi, db, sent: str, recorded: str):
    request_id = (await intake.created())["id"]
    response = await intake.command(request_id, "contacts", {"via": sent, "direction": "outbound", "summary": "x"})
    assert response.status_code == 200, response.text
    async with db.connect() as conn:
        stream = await intake.store.read_stream(conn, f"request-{request_id}")
    assert [e.data["via"] for e in stream if e.name == "ContactRecorded"] == [recorded]
    bad = await intake.command(request_id, "contacts", {"via": "pigeon", "direction": "outbound", "summary": "x"})
    assert bad.status_code == 422 and [e["field"] for e in bad.json()["errors"]] == ["via"]


def _agent() -> dict[str, str]:
    from tests.support.app import as_role
    return as_role(Role.agent, "agent-1")
