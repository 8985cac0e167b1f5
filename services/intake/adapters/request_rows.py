"""How intake's own events change the requests read model's rows, in memory: pure. A row is a dict
of `COLUMNS`, holding those it has been given (a new row lacks the rest, which keep the table's
defaults); `fold_rows` folds a batch of events into them."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Sequence

from shared.calendar import BusinessCalendar
from shared.envelope import Envelope

RISK_SHARE = 0.75  # a response is "at risk" once this share of its window has passed
# The customer's personal data it keeps: what the queues show and the duplicate hint compares.
UPDATABLE_COLUMNS = frozenset({"title", "description"})


def risk_at(received: datetime, respond_by: datetime, calendar_spec: dict[str, Any]) -> datetime:
    return BusinessCalendar.from_spec(calendar_spec).instant_at_share(received, respond_by, RISK_SHARE)


def _received(d: dict[str, Any], at: datetime) -> dict[str, Any]:
    c = d["customer"]
    return {"id": d["request_id"], "customer_id": c["id"], "channel": d["channel"],
            "kind": d["kind"], "category": d.get("category"), "title": d["title"], "description": d["description"],
            "urgency": d["urgency"], "impact": d["impact"], "status": "triaged",
            "owner": d["owner"], "received_at": datetime.fromisoformat(d["received_at"]), "updated_at": at}


def _triaged(d: dict[str, Any], received_at: datetime) -> dict[str, Any]:
    respond_by = datetime.fromisoformat(d["respond_by"])
    return {"priority": d["priority"], "priority_rank": int(d["priority"][1]), "urgency": d["urgency"],
            "impact": d["impact"], "category": d.get("category"), "emergency": d["emergency"],
            "respond_by": respond_by, "resolve_by": datetime.fromisoformat(d["resolve_by"]),
            "respond_risk_at": risk_at(received_at, respond_by, d["sla"]["calendar"]),
            "triaged_by": d["triaged_by"], "needs_review": d["needs_review"]}


Row = dict[str, Any]
# The columns this projection writes; a row read back holds these and no other.
COLUMNS = ("id", "customer_id", "channel", "kind", "category", "title", "description", "urgency", "impact",
           "priority", "priority_rank", "emergency", "status", "owner", "triaged_by", "needs_review", "received_at",
           "respond_by", "resolve_by", "respond_risk_at", "acknowledged_at", "need_confirmed_at", "merged_into",
           "reopen_count", "contacts", "updated_at", "customer_erased")


def _stamped(change: Callable[[Row, dict[str, Any]], None]) -> Callable[[Row, dict[str, Any], datetime], None]:
    def fold(row: Row, d: dict[str, Any], at: datetime) -> None:
        change(row, d)
        row["updated_at"] = at
    return fold


def _acknowledged(row: Row, d: dict[str, Any]) -> None:
    row["acknowledged_at"] = datetime.fromisoformat(d["acknowledged_at"])
    if row.get("status") in ("triaged", "reopened"):  # as the aggregate: one already held stays with its holder
        row["status"] = "acknowledged"


def _updated(row: Row, d: dict[str, Any], at: datetime) -> None:
    changes = {**d["changes"], **d.get("personal_changes", {})}
    columns = {name.replace(".", "_"): change["after"] for name, change in changes.items()}
    columns = {k: v for k, v in columns.items() if k in UPDATABLE_COLUMNS}
    if columns:
        row.update(columns, updated_at=at)


def _merged(row: Row, d: dict[str, Any]) -> None:
    row.update(status="merged", merged_into=d["into_request_id"])


# How each event (but RequestReceived and CustomerErased) changes its request's row.
FOLDS: dict[str, Callable[[Row, dict[str, Any], datetime], None]] = {
    "RequestTriaged": _stamped(lambda row, d: row.update(_triaged(d, row["received_at"]))),
    "RequestAcknowledged": _stamped(_acknowledged),
    "RequestOwnershipTaken": _stamped(lambda row, d: row.update(owner=d["owner"])),
    "RequestProgressed": _stamped(lambda row, d: row.update(status=d["status"])),
    "NeedConfirmed": _stamped(lambda row, d: row.update(need_confirmed_at=datetime.fromisoformat(d["confirmed_at"]))),
    "RequestUpdated": _updated,
    "ContactRecorded": _stamped(lambda row, d: row.update(contacts=row.get("contacts", 0) + 1)),
    "RequestWithdrawn": _stamped(lambda row, d: row.update(status="withdrawn")),
    "RequestMerged": _stamped(_merged),
    "RequestReopened": _stamped(lambda row, d: row.update(status="reopened", reopen_count=d["reopen_count"])),
}


TOUCHING = frozenset(FOLDS) | {"RequestReceived"}  # the events that change a request's row


def fold_rows(rows: dict[str, Row], events: Sequence[Envelope]) -> dict[str, Row]:
    """`events` (none a CustomerErased) folded into `rows`, the rows of the requests they touch, by id
    (a RequestReceived adds its own); the rows changed, by id. An event of a request with no row
    (never received here) changes nothing."""
    changed: dict[str, Row] = {}
    for env in events:
        d = env.data
        if env.name == "RequestReceived":
            received = _received(d, env.time)
            row = rows.get(d["request_id"])
            if row is None:
                rows[received["id"]] = received
            else:  # as an upsert would: what was there stays, updated_at too
                row.update({k: v for k, v in received.items() if k != "updated_at"})
        elif (fold := FOLDS.get(env.name)) is not None and (row := rows.get(d["request_id"])) is not None:
            fold(row, d, env.time)
        else:
            continue
        changed[d["request_id"]] = rows[d["request_id"]]
    return changed
