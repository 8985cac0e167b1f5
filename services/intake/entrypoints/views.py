"""From domain state and read-model rows to API answers.

Answers are built as plain JSON-ready dicts and serialised once: the pydantic models in schemas.py
document them (OpenAPI) and the tests hold the answers to those models.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from services.intake.domain.lifecycle import OPEN
from services.intake.domain.model import ServiceRequest
from services.intake.entrypoints.schemas import RequestSummary


def view(request: ServiceRequest) -> dict[str, Any]:
    received, triage, d = request.received, request.triage, request.details
    assert received is not None and triage is not None
    return {
        "id": request.id, "status": request.status.value, "priority": triage.priority,
        "emergency": triage.emergency, "respond_by": triage.respond_by, "resolve_by": triage.resolve_by,
        "sla_policy": triage.sla.policy, "channel": received.channel, "kind": received.kind,
        "category": triage.category, "title": d["title"], "description": d["description"],
        "urgency": triage.urgency, "impact": triage.impact, "location": d.get("location"), "zone": triage.zone,
        "customer": {"id": received.customer.id, "name": d["customer.name"], "phone": d.get("customer.phone"),
                     "email": d.get("customer.email")},
        "owner": request.owner, "triaged_by": triage.triaged_by, "needs_review": triage.needs_review,
        "dispatch": triage.dispatch, "received_at": received.received_at,
        "acknowledged_at": request.acknowledged.acknowledged_at if request.acknowledged else None,
        "need_confirmed_at": request.need.confirmed_at if request.need else None,
        "merged_into": request.merged_into, "reopen_count": request.reopen_count, "contacts": request.contacts,
        "version": request.version,
    }


def summary(row: dict[str, Any], now: datetime) -> RequestSummary:
    awaiting = row["status"] in OPEN and row["acknowledged_at"] is None
    respond_by, risk_at = row["respond_by"], row["respond_risk_at"]
    return RequestSummary(
        **{k: v for k, v in row.items() if k in RequestSummary.model_fields},
        response_at_risk=bool(awaiting and risk_at and now >= risk_at),
        response_breached=bool(awaiting and respond_by and now > respond_by),
    )
