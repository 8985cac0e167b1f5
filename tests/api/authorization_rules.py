"""Who may call what: one rule per operation of every service's OpenAPI (README's tables).

The authorization matrix (test_authorization_matrix.py) calls every operation as every role, and
as its owner and a stranger where ownership applies. A route added without a rule here fails it.
Admins may do everything; `roles` names the others. A body is valid, so an allowed caller gets the
route's own answer (2xx, or 409 in a state that forbids it) and a refused one gets 401/403/404.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from shared.auth import Role
from tests.api.conftest import request_body

C, A, T, D, N = Role.customer, Role.agent, Role.technician, Role.dispatcher, Role.analyst
Target = dict[str, str]
Body = dict[str, Any] | Callable[[Target], dict[str, Any]] | None


@dataclass(frozen=True)
class Rule:
    roles: tuple[Role, ...] = ()  # besides admin
    owner: Role | None = None  # this role may use only its own object; a stranger's answers `foreign`
    holder: Role | None = None  # this role too, for the objects whose work it holds or held
    foreign: int = 404  # a stranger's object does not exist for them
    pending: int | None = None  # the owner role still awaiting approval for the object (a partner)
    body: Body = None
    public: bool = False  # no token needed: the link or the probe is the credential

    def body_for(self, target: Target) -> dict[str, Any] | None:
        return self.body(target) if callable(self.body) else self.body


PUBLIC = Rule(public=True)
PROBES = {("GET", "/healthz"): PUBLIC, ("GET", "/readyz"): PUBLIC, ("GET", "/metrics"): PUBLIC}
# Intake's, dispatch's and feedback's read models (shared/http/read_models.py): admins only.
READ_MODELS = {("GET", "/v1/read-models"): Rule(), ("GET", "/v1/read-models/{name}"): Rule(),
               ("POST", "/v1/read-models/{name}/rebuild"): Rule()}
REQ = "/v1/requests/{request_id}"
JOB = "/v1/jobs/{request_id}"
RES = "/v1/resources/{resource_id}"


def submit(target: Target) -> dict[str, Any]:
    return request_body(customer={"id": target["customer"], "name": "Ann Example"})


INTAKE = {
    ("POST", "/v1/requests"): Rule((C, A, D), owner=C, foreign=403, body=submit),  # customers for themselves
    ("GET", "/v1/requests"): Rule((C, A, D)),  # a customer's search is narrowed to their own
    ("GET", REQ): Rule((C, A, D, T), owner=C, holder=T),  # technicians: requests whose job they hold(held)
    ("PATCH", REQ): Rule((C, A, D), owner=C, body={"title": "Still jams", "reason": "more detail"}),
    ("POST", f"{REQ}/acknowledge"): Rule((A, D)),
    ("POST", f"{REQ}/triage"): Rule((A, D), body={"urgency": "high", "reason": "worse"}),
    ("POST", f"{REQ}/need-confirmation"): Rule((A, D), body={"what": "a new drum unit"}),
    ("POST", f"{REQ}/take-ownership"): Rule((A, D)),
    ("POST", f"{REQ}/contacts"): Rule((A, D), body={"via": "call", "direction": "outbound", "summary": "called"}),
    ("POST", f"{REQ}/withdraw"): Rule((C, A, D), owner=C, body={"reason": "it works again"}),
    ("POST", f"{REQ}/merge"): Rule((A, D), body=lambda t: {"into": t["into"], "reason": "the same fault"}),
    ("GET", "/v1/queues/awaiting-response"): Rule((A, D)),
    ("GET", "/v1/queues/triage"): Rule((A, D)),
    ("POST", "/v1/customers/{customer_id}/erasure"): Rule(),  # admins only
    ("GET", "/v1/customers/{customer_id}/access-log"): Rule(),
    **READ_MODELS,
    **PROBES,
}

DISPATCH = {
    ("GET", JOB): Rule((D, A, T), owner=T, pending=200),  # a partner awaiting approval sees the job...
    ("GET", "/v1/queues/unallocated"): Rule((D,)),
    ("GET", "/v1/queues/at-risk"): Rule((D,)),
    ("POST", f"{JOB}/allocate"): Rule((D,), body=lambda t: {"resource_id": t["resource_id"], "reason": "by hand"}),
    ("POST", f"{JOB}/approve"): Rule((D,)),
    # ...and works, notes or escalates it only once approved (DOMAIN.md: approval, then allocate, then execute).
    ("POST", f"{JOB}/accept"): Rule((D, T), owner=T, pending=409),
    ("POST", f"{JOB}/decline"): Rule((D, T), owner=T, pending=409, body={"reason": "no parts"}),
    ("POST", f"{JOB}/start"): Rule((D, T), owner=T, pending=409),
    ("POST", f"{JOB}/notes"): Rule((D, T), owner=T, pending=409, body={"note": "on site"}),
    ("POST", f"{JOB}/pause"): Rule((D, T), owner=T, pending=409, body={"waiting_on": "parts"}),
    ("POST", f"{JOB}/resume"): Rule((D, T), owner=T, pending=409),
    ("POST", f"{JOB}/resolve"): Rule((D, T), owner=T, pending=409, body={"resolution_code": "fixed", "summary": "x"}),
    ("POST", f"{JOB}/escalate"): Rule((D, A, T), owner=T, pending=409, body={"reason": "stuck", "level": "manager"}),
    ("POST", "/v1/resources"): Rule((D,), body={"name": "Matrix", "skills": ["matrix-nothing"], "capacity": 1}),
    ("GET", "/v1/resources"): Rule((D,)),
    ("GET", RES): Rule((D, T), owner=T),
    ("PATCH", RES): Rule((D,), body={"zone": "north", "reason": "moved"}),
    ("POST", f"{RES}/availability"): Rule((D, T), owner=T, body={"status": "on_duty", "reason": "back"}),
    ("GET", f"{RES}/jobs"): Rule((D, T), owner=T),
    **READ_MODELS,
    **PROBES,
}

FEEDBACK = {
    ("POST", f"{REQ}/confirmation"): Rule((C, A), owner=C, body={"accepted": True}),
    ("GET", f"{REQ}/closure"): Rule((C, A), owner=C),
    ("GET", f"{REQ}/survey"): Rule((C, A), owner=C),
    ("POST", "/v1/surveys/{token}"): Rule(public=True, body={"csat": 5}),
    ("GET", "/v1/surveys/{token}"): PUBLIC,  # the form the link opens
    ("POST", "/v1/feedback"): Rule((C, A), owner=C, body=lambda t: {"kind": "complaint", "text": "slow",
                                                                     "request_id": t["request_id"]}),
    ("GET", "/v1/feedback/{feedback_id}"): Rule((C, A), owner=C),  # a customer reads the items they gave
    ("POST", "/v1/feedback/{feedback_id}/acknowledge"): Rule((A,)),
    ("POST", "/v1/feedback/{feedback_id}/investigate"): Rule((A,), body={"findings": "the van broke down"}),
    ("POST", "/v1/feedback/{feedback_id}/resolve"): Rule((A,), body={"outcome": "apologised"}),
    ("POST", f"{REQ}/follow-up"): Rule((A,), body={"outcome": "called back"}),
    ("GET", "/v1/queues/complaints"): Rule((A,)),
    ("GET", "/v1/queues/follow-ups"): Rule((A,)),
    ("GET", "/v1/queues/confirmations"): Rule((A,)),
    ("POST", "/v1/actions"): Rule((A,), body={"title": "Vans", "plan": "service them", "owner": "fleet",
                                              "due_at": "2026-04-01T00:00:00+00:00"}),
    ("GET", "/v1/actions/{action_id}"): Rule((A,)),
    ("POST", "/v1/actions/{action_id}/progress"): Rule((A,), body={"stage": "do", "note": "booked"}),
    ("GET", "/v1/queues/actions"): Rule((A,)),
    **READ_MODELS,
    **PROBES,
}

REPORTS = ("sla", "stages", "backlog", "satisfaction", "complaints", "staff", "forecast")
ANALYTICS = {
    ("GET", f"{REQ}/timeline"): Rule((A, D, N)),
    **{("GET", f"/v1/reports/{name}"): Rule((N, D)) for name in REPORTS},
    ("GET", "/v1/read-models"): Rule(),  # names who asked for each rebuild
    ("POST", "/v1/read-models/rebuild"): Rule(),
    ("GET", "/v1/read-models/{version}/checksum"): Rule(),
    **PROBES,
}
