"""Issue 13, items 8 and 10 over HTTP: read models are for admins, a partner awaiting approval cannot
work the job yet, and survey links have a key of their own."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import jwt
import pytest

from services.feedback.adapters.survey_links import AUDIENCE
from shared.auth import Role
from shared.settings import DEV_JWT_SECRET
from tests.api.analytics_support import analytics_app
from tests.api.dispatch_support import DispatchApi
from tests.api.test_feedback import resolved_request
from tests.support.app import as_role

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


async def test_only_admins_see_the_read_model_versions_and_who_asked_for_them(settings_for, broker):  # noqa: ANN001
    async with analytics_app(settings_for, broker.bootstrap, datetime(2026, 3, 2, tzinfo=timezone.utc)) as api:
        rebuild = await api.client.post("/v1/read-models/rebuild", headers=as_role(Role.admin, "admin-7"))
        assert rebuild.status_code == 202, rebuild.text
        for role in (Role.analyst, Role.dispatcher, Role.agent, Role.technician, Role.customer):
            response = await api.get("/v1/read-models", role)
            assert response.status_code == 403, (role, response.text)
            assert "admin-7" not in response.text
        admin = await api.get("/v1/read-models", Role.admin)
        assert admin.status_code == 200 and any(v.get("requested_by") == "admin-7" for v in admin.json()["versions"])


async def test_a_partner_awaiting_approval_sees_the_job_but_cannot_note_or_escalate_it(dispatch: DispatchApi):
    skill = f"skill{uuid.uuid4().hex[:8]}"
    tech = await dispatch.resource(skill)
    partner = await dispatch.resource(skill, kind="partner", capacity=5)
    request_id = await dispatch.triage(skill)
    await dispatch.job(request_id, "allocated")
    requested = await dispatch.call("POST", f"/v1/jobs/{request_id}/allocate",
                                    json={"resource_id": partner["id"], "reason": "needs the vendor"})
    assert requested.status_code == 200 and requested.json()["status"] == "awaiting_approval"

    as_partner = {"role": Role.technician, "subject": partner["id"]}
    assert (await dispatch.call("GET", f"/v1/jobs/{request_id}", **as_partner)).status_code == 200
    note = await dispatch.call("POST", f"/v1/jobs/{request_id}/notes", json={"note": "on my way"}, **as_partner)
    escalate = await dispatch.call("POST", f"/v1/jobs/{request_id}/escalate",
                                   json={"reason": "hurry", "level": "manager"}, **as_partner)
    assert (note.status_code, escalate.status_code) == (409, 409), (note.text, escalate.text)
    assert "approval" in note.json()["detail"]
    job = await dispatch.job(request_id)
    assert job["escalation"] is None and job["status"] == "awaiting_approval"

    assert (await dispatch.call("POST", f"/v1/jobs/{request_id}/approve")).status_code == 200
    note = await dispatch.call("POST", f"/v1/jobs/{request_id}/notes", json={"note": "on my way"}, **as_partner)
    escalate = await dispatch.call("POST", f"/v1/jobs/{request_id}/escalate",
                                   json={"reason": "hurry", "level": "manager"}, **as_partner)
    assert (note.status_code, escalate.status_code) == (200, 200), (note.text, escalate.text)
    assert tech["id"] != partner["id"]


async def test_a_survey_link_signed_with_the_bearer_token_key_is_a_forgery(feedback, broker):  # noqa: ANN001
    app, client, _ = feedback
    request_id, customer = await resolved_request(feedback, broker)
    confirmed = await client.post(f"/v1/requests/{request_id}/confirmation", json={"accepted": True},
                                  headers=as_role(Role.customer, customer))
    assert confirmed.status_code == 200, confirmed.text
    link = (await client.get(f"/v1/requests/{request_id}/survey", headers=as_role(Role.customer, customer))).json()
    genuine = jwt.decode(link["token"], options={"verify_signature": False}, audience=AUDIENCE)
    forged = jwt.encode(genuine, DEV_JWT_SECRET, algorithm="HS256")  # what anyone with the token key could mint
    assert (await client.post(f"/v1/surveys/{forged}", json={"csat": 1})).status_code == 404
    assert (await client.post(f"/v1/surveys/{link['token']}", json={"csat": 4})).status_code == 201
