"""Analytics reads its archive through the published contracts (issue 12). Pure: no database here.

The archive keeps each consumed event as its contract's current version; a fold decodes each archived
row from its JSON text by its full ce_type (upcasting an older version), and passes over rows that no
fact folds without decoding them.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orjson
import pytest

from services.analytics.adapters.archive import kept_form
from services.analytics.adapters.decoding import Decoders
from services.analytics.service_layer.projector import FOLDED
from shared.contracts import decode, dispatch, intake
from shared.envelope import Envelope, source_of
from tests.support.history import History, Journey

T0 = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)
TRIAGED = "servicetrail.intake.RequestTriaged.v1"


def triaged() -> Envelope:
    h = History()
    Journey(h, "r1").triaged(T0, priority="P2", respond_by=T0 + timedelta(hours=4), resolve_by=T0 + timedelta(days=1),
                             received_at=T0)
    return h.envelopes[0]


def text(data: dict) -> str:
    return orjson.dumps(data).decode()


V1_REPRIORITISED = {"request_id": "r1", "priority": "P1", "emergency": True, "respond_by": "2026-03-02T10:00:00Z",
                    "resolve_by": "2026-03-02T13:00:00Z", "reprioritised_at": "2026-03-02T09:30:00Z"}


def reprioritised_v1() -> Envelope:
    return Envelope(id="5b0b3f9e-5d1c-4a8e-9a57-0c0a4bb1e001", source=source_of("dispatch"),
                    type="servicetrail.dispatch.JobReprioritised.v1", subject="r1", time=T0, stream_id="job-r1",
                    stream_version=3, correlation_id="c1", causation_id=None, data=dict(V1_REPRIORITISED))


# --- the fold's reading of archived rows ---------------------------------------------------------------------------


def test_a_current_version_row_decodes_from_its_json_text_into_its_contract():
    env = triaged()

    event = Decoders(FOLDED).get(env.type)(text(env.data))

    assert isinstance(event, intake.RequestTriaged)
    assert event == decode(env.type, env.data)
    assert event.respond_by == T0 + timedelta(hours=4)  # a datetime, not the ISO text


def test_an_older_version_row_is_upcast_by_its_contracts_upcasters():
    event = Decoders({dispatch.JobReprioritised}).get(reprioritised_v1().type)(text(V1_REPRIORITISED))

    assert isinstance(event, dispatch.JobReprioritised)
    assert (event.priority, event.category, event.required_skills, event.calendar) == ("P1", None, None, None)


@pytest.mark.parametrize("ce_type", [
    "servicetrail.dispatch.WorkNoteAdded.v1",  # published, but no fact folds it
    "servicetrail.intake.RequestTeleported.v1",  # no such event
    "servicetrail.billing.InvoiceSent.v1",  # no such service
    "RequestTriaged",  # not a type at all
])
def test_rows_no_fact_folds_are_passed_over_without_decoding(ce_type: str):
    assert Decoders(FOLDED).get(ce_type) is None


def test_a_folded_event_of_a_version_newer_than_its_contract_cannot_be_read():
    decoder = Decoders(FOLDED).get("servicetrail.intake.RequestTriaged.v9")

    assert decoder is not None  # a fact would fold it: reading it fails, and is counted where it is read
    with pytest.raises(LookupError):
        decoder(text(triaged().data))


@pytest.mark.parametrize("row", [
    text({k: v for k, v in triaged().data.items() if k != "priority"}),  # a field missing
    text({**triaged().data, "emergency": "perhaps"}),  # a field of the wrong type
    text({**triaged().data, "colour": "red"}),  # a field the contract does not have
    "[]", "not json",
], ids=["missing", "wrong type", "extra", "not an object", "not json"])
def test_a_row_that_does_not_fit_its_contract_cannot_be_read(row: str):
    with pytest.raises(ValueError):
        Decoders(FOLDED).get(TRIAGED)(row)


def test_a_misfit_of_an_older_version_cannot_be_read_either():
    decoder = Decoders({dispatch.JobReprioritised}).get(reprioritised_v1().type)

    with pytest.raises(ValueError):
        decoder(text({k: v for k, v in V1_REPRIORITISED.items() if k != "priority"}))


# --- what the archive keeps ------------------------------------------------------------------------------------------


def test_the_archive_keeps_an_older_version_as_its_contracts_current_version():
    env = reprioritised_v1()

    kept = kept_form(decode(env.type, env.data), env)

    # Whatever version is current now (v3 added the zone): every field a v1 record lacked, upcast.
    assert kept.type == f"servicetrail.dispatch.JobReprioritised.v{dispatch.JobReprioritised.version}"
    assert kept.data == {**V1_REPRIORITISED, "category": None, "required_skills": None, "calendar": None,
                         "zone": None}
    assert (kept.id, kept.source, kept.subject, kept.time, kept.stream_id, kept.stream_version) == \
        (env.id, env.source, env.subject, env.time, env.stream_id, env.stream_version)  # still the producer's record


def test_the_archive_keeps_a_current_version_as_it_was_published_with_its_personal_fields():
    h = History()
    Journey(h, "r1").received(T0)
    env = h.envelopes[0]

    kept = kept_form(decode(env.type, env.data), env)

    assert (kept.type, kept.data) == (env.type, env.data)
    assert set(kept.personal) == set(env.personal) == {"customer.name", "customer.phone", "customer.email",
                                                       "title", "description", "location"}
