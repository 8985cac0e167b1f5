"""Closing the loop on a request: confirmation, closing by answer or silence, the survey, and survey links. Pure."""
from __future__ import annotations

import base64
import json
from datetime import timedelta

import jwt
import pytest

from services.feedback.adapters.survey_links import AUDIENCE, BadSurveyLink, ExpiredSurveyLink, SurveyLinks
from services.feedback.domain.closure import Closure
from shared.clock import FrozenClock
from shared.contracts import feedback as ev
from shared.errors import Invalid, InvalidTransition

WAIT = timedelta(days=3)
SURVEY_TTL = timedelta(days=14)
FOLLOW_UP = timedelta(hours=4)
SECRET = "unit-test-secret-that-is-long-enough-for-hs256"
OTHER_SECRET = "another-secret-that-is-also-long-enough-for-hs"
ISSUER = "servicetrail-feedback"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


def awaiting(clock: FrozenClock, request_id: str = "r1") -> Closure:
    closure = Closure.for_request(request_id)
    closure.resolved("fixed", "Replaced the fuser", WAIT, clock.now())
    closure.take_pending()
    return closure


def confirmed(clock: FrozenClock, survey_id: str = "s1") -> Closure:
    closure = awaiting(clock)
    closure.answer(True, None, "c1", survey_id, SURVEY_TTL, clock.now())
    closure.take_pending()
    return closure


def return_survey(closure: Closure, clock: FrozenClock, survey_id: str = "s1", csat: int = 4,
                  dimensions: dict[str, int] | None = None) -> None:
    closure.return_survey(survey_id, csat, 9, dimensions if dimensions is not None else {"empathy": 5},
                          "Thanks", FOLLOW_UP, clock.now())


# --- resolution and confirmation -------------------------------------------------------------------------------


def test_a_new_closure_is_open_with_nothing_pending():
    closure = Closure.for_request("r1")
    assert closure.request_id == "r1"
    assert closure.status == "open"
    assert closure.closes_at is None and closure.survey_id is None
    assert closure.changed is False
    assert closure.take_pending() == []


def test_resolving_asks_for_confirmation_and_sets_when_silence_closes(clock):
    closure = Closure.for_request("r1")
    closure.resolved("fixed", "Replaced the fuser", WAIT, clock.now())

    assert closure.changed is True
    (requested,) = closure.take_pending()
    assert requested == ev.ConfirmationRequested(request_id="r1", resolution_code="fixed",
                                                 summary="Replaced the fuser", closes_at=clock.now() + WAIT,
                                                 requested_at=clock.now())
    assert closure.status == "awaiting_confirmation"
    assert closure.closes_at == clock.now() + WAIT
    assert closure.changed is False


def test_confirming_records_confirmed_then_closed_by_confirmation_then_survey_sent(clock):
    closure = awaiting(clock)
    clock.advance(hours=5)
    closure.answer(True, None, "c1", "s1", SURVEY_TTL, clock.now())

    confirmed_, closed, sent = closure.take_pending()
    assert confirmed_ == ev.ResolutionConfirmed(request_id="r1", confirmed_by="c1", confirmed_at=clock.now())
    assert closed == ev.RequestClosed(request_id="r1", how="confirmed", closed_at=clock.now())
    assert sent == ev.SurveySent(request_id="r1", survey_id="s1", expires_at=clock.now() + SURVEY_TTL,
                                 sent_at=clock.now())
    assert closure.status == "closed"
    assert closure.closes_at is None
    assert closure.survey_id == "s1"
    assert closure.survey_expires == clock.now() + SURVEY_TTL
    assert closure.survey_returned is False


def test_rejecting_with_a_reason_records_the_rejection_and_reopens(clock):
    closure = awaiting(clock)
    closure.answer(False, "Still jams on page two", "c1", "s1", SURVEY_TTL, clock.now())

    (rejected,) = closure.take_pending()
    assert rejected == ev.ResolutionRejected(request_id="r1", reason="Still jams on page two", rejected_by="c1",
                                             rejected_at=clock.now())
    assert closure.status == "open"
    assert closure.closes_at is None
    assert closure.rejections == 1
    assert closure.survey_id is None


@pytest.mark.parametrize("reason", [None, ""])
def test_rejecting_without_a_reason_is_invalid_naming_reason_and_records_nothing(clock, reason):
    closure = awaiting(clock)
    with pytest.raises(Invalid) as raised:
        closure.answer(False, reason, "c1", "s1", SURVEY_TTL, clock.now())

    assert raised.value.field == "reason"
    assert closure.take_pending() == []
    assert closure.status == "awaiting_confirmation"
    assert closure.rejections == 0


def test_answering_an_open_request_is_an_invalid_transition(clock):
    closure = Closure.for_request("r1")
    with pytest.raises(InvalidTransition):
        closure.answer(True, None, "c1", "s1", SURVEY_TTL, clock.now())
    with pytest.raises(InvalidTransition):
        closure.answer(False, "no", "c1", "s1", SURVEY_TTL, clock.now())
    assert closure.take_pending() == []
    assert closure.status == "open"


def test_answering_a_closed_request_is_an_invalid_transition(clock):
    closure = confirmed(clock)
    with pytest.raises(InvalidTransition):
        closure.answer(True, None, "c1", "s2", SURVEY_TTL, clock.now())
    with pytest.raises(InvalidTransition):
        closure.answer(False, "changed my mind", "c1", "s2", SURVEY_TTL, clock.now())
    assert closure.take_pending() == []
    assert closure.survey_id == "s1"


def test_answering_after_a_rejection_reopened_the_request_is_an_invalid_transition(clock):
    closure = awaiting(clock)
    closure.answer(False, "Still broken", "c1", "s1", SURVEY_TTL, clock.now())
    closure.take_pending()
    with pytest.raises(InvalidTransition):
        closure.answer(True, None, "c1", "s1", SURVEY_TTL, clock.now())
    assert closure.take_pending() == []


def test_a_rejection_then_a_new_resolution_then_a_confirmation_closes_and_counts_the_rejections(clock):
    closure = awaiting(clock)
    closure.answer(False, "Still jams", "c1", "s1", SURVEY_TTL, clock.now())
    clock.advance(days=1)
    closure.resolved("fixed", "Replaced the roller", WAIT, clock.now())
    assert closure.closes_at == clock.now() + WAIT
    closure.answer(False, "Now it smudges", "c1", "s1", SURVEY_TTL, clock.now())
    clock.advance(days=1)
    closure.resolved("fixed", "New toner", WAIT, clock.now())
    clock.advance(hours=1)
    closure.answer(True, None, "c1", "s1", SURVEY_TTL, clock.now())

    names = [type(e).__name__ for e in closure.take_pending()]
    assert names == ["ResolutionRejected", "ConfirmationRequested", "ResolutionRejected", "ConfirmationRequested",
                     "ResolutionConfirmed", "RequestClosed", "SurveySent"]
    assert closure.status == "closed"
    assert closure.rejections == 2
    assert closure.survey_id == "s1"


# --- closing by silence ----------------------------------------------------------------------------------------


def test_closing_unanswered_before_closes_at_does_nothing_and_returns_false(clock):
    closure = awaiting(clock)
    clock.advance(WAIT - timedelta(seconds=1))

    assert closure.close_unanswered("s1", SURVEY_TTL, clock.now()) is False
    assert closure.take_pending() == []
    assert closure.status == "awaiting_confirmation"


def test_closing_unanswered_exactly_at_closes_at_closes_automatically_and_sends_the_survey(clock):
    closure = awaiting(clock)
    clock.advance(WAIT)

    assert closure.close_unanswered("s1", SURVEY_TTL, clock.now()) is True
    closed, sent = closure.take_pending()
    assert closed == ev.RequestClosed(request_id="r1", how="auto", closed_at=clock.now())
    assert sent == ev.SurveySent(request_id="r1", survey_id="s1", expires_at=clock.now() + SURVEY_TTL,
                                 sent_at=clock.now())
    assert closure.status == "closed"


def test_closing_unanswered_after_closes_at_returns_true_only_once(clock):
    closure = awaiting(clock)
    clock.advance(WAIT + timedelta(hours=2))

    assert closure.close_unanswered("s1", SURVEY_TTL, clock.now()) is True
    assert len(closure.take_pending()) == 2
    clock.advance(hours=1)
    assert closure.close_unanswered("s2", SURVEY_TTL, clock.now()) is False
    assert closure.take_pending() == []
    assert closure.survey_id == "s1"


def test_closing_unanswered_an_open_or_rejected_request_does_nothing(clock):
    never_resolved = Closure.for_request("r1")
    assert never_resolved.close_unanswered("s1", SURVEY_TTL, clock.now() + WAIT * 10) is False
    assert never_resolved.take_pending() == []

    rejected = awaiting(clock)
    rejected.answer(False, "Still broken", "c1", "s1", SURVEY_TTL, clock.now())
    rejected.take_pending()
    assert rejected.close_unanswered("s1", SURVEY_TTL, clock.now() + WAIT * 10) is False
    assert rejected.take_pending() == []
    assert rejected.status == "open"


def test_a_resolution_arriving_after_closing_records_nothing(clock):
    closure = confirmed(clock)
    clock.advance(days=1)
    closure.resolved("fixed", "Late duplicate", WAIT, clock.now())

    assert closure.take_pending() == []
    assert closure.changed is False
    assert closure.status == "closed"
    assert closure.closes_at is None


# --- closing without a survey ----------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["withdrawn", "merged"])
def test_withdrawn_or_merged_closes_without_a_survey(clock, how):
    closure = awaiting(clock)
    closure.close_without_survey(how, clock.now())

    (closed,) = closure.take_pending()
    assert closed == ev.RequestClosed(request_id="r1", how=how, closed_at=clock.now())
    assert closure.status == "closed"
    assert closure.survey_id is None


def test_withdrawing_an_open_request_closes_it_without_a_survey(clock):
    closure = Closure.for_request("r1")
    closure.close_without_survey("withdrawn", clock.now())
    (closed,) = closure.take_pending()
    assert closed.how == "withdrawn" and closure.status == "closed"


def test_closing_without_a_survey_twice_records_only_once(clock):
    closure = awaiting(clock)
    closure.close_without_survey("withdrawn", clock.now())
    closure.close_without_survey("merged", clock.now())
    assert [e.how for e in closure.take_pending()] == ["withdrawn"]


def test_closing_without_a_survey_after_confirmation_records_nothing(clock):
    closure = confirmed(clock)
    closure.close_without_survey("withdrawn", clock.now())
    assert closure.take_pending() == []
    assert closure.survey_id == "s1"


def test_a_survey_return_after_a_withdrawal_is_refused(clock):
    closure = awaiting(clock)
    closure.close_without_survey("withdrawn", clock.now())
    closure.take_pending()

    with pytest.raises(InvalidTransition):
        return_survey(closure, clock, survey_id="s1")
    assert closure.take_pending() == []
    assert closure.survey_returned is False


# --- the survey ------------------------------------------------------------------------------------------------


def test_returning_the_sent_survey_records_it(clock):
    closure = confirmed(clock)
    clock.advance(days=1)
    closure.return_survey("s1", 4, 9, {"reliability": 4, "empathy": 5}, "Quick and kind", FOLLOW_UP, clock.now())

    (returned,) = closure.take_pending()
    assert returned == ev.SurveyReturned(request_id="r1", survey_id="s1", csat=4, nps=9,
                                         dimensions={"reliability": 4, "empathy": 5}, comment="Quick and kind",
                                         returned_at=clock.now())
    assert closure.survey_returned is True


def test_returning_a_survey_with_another_id_is_refused(clock):
    closure = confirmed(clock, survey_id="s1")
    with pytest.raises(InvalidTransition):
        return_survey(closure, clock, survey_id="s-other")
    assert closure.take_pending() == []
    assert closure.survey_returned is False


def test_returning_a_survey_before_one_was_sent_is_refused(clock):
    closure = awaiting(clock)
    with pytest.raises(InvalidTransition):
        return_survey(closure, clock, survey_id="s1")
    assert closure.take_pending() == []


def test_returning_the_survey_a_second_time_is_refused(clock):
    closure = confirmed(clock)
    return_survey(closure, clock)
    closure.take_pending()

    with pytest.raises(InvalidTransition):
        return_survey(closure, clock, csat=1)
    assert closure.take_pending() == []


def test_returning_the_survey_after_it_expired_is_refused(clock):
    closure = confirmed(clock)
    clock.advance(SURVEY_TTL + timedelta(seconds=1))

    with pytest.raises(InvalidTransition):
        return_survey(closure, clock)
    assert closure.take_pending() == []
    assert closure.survey_returned is False


def test_returning_the_survey_at_the_expiry_instant_is_still_accepted(clock):
    closure = confirmed(clock)
    clock.advance(SURVEY_TTL)
    return_survey(closure, clock)
    assert [type(e).__name__ for e in closure.take_pending()] == ["SurveyReturned"]


def test_an_unknown_dimension_is_invalid_naming_dimensions_and_records_nothing(clock):
    closure = confirmed(clock)
    with pytest.raises(Invalid) as raised:
        return_survey(closure, clock, dimensions={"empathy": 5, "speed": 2})

    assert raised.value.field == "dimensions"
    assert "speed" in raised.value.message
    assert closure.take_pending() == []
    assert closure.survey_returned is False


def test_all_known_dimensions_are_accepted(clock):
    closure = confirmed(clock)
    dims = {"reliability": 3, "responsiveness": 4, "assurance": 5, "empathy": 2, "tangibles": 1}
    return_survey(closure, clock, dimensions=dims)
    (returned,) = closure.take_pending()
    assert returned.dimensions == dims


@pytest.mark.parametrize("csat", [1, 2])
def test_a_low_csat_schedules_a_follow_up_due_after_the_configured_delay(clock, csat):
    closure = confirmed(clock)
    clock.advance(hours=3)
    return_survey(closure, clock, csat=csat)

    returned, follow_up = closure.take_pending()
    assert isinstance(returned, ev.SurveyReturned) and returned.csat == csat
    assert follow_up == ev.FollowUpScheduled(request_id="r1", reason=f"low satisfaction (CSAT {csat})",
                                             due_at=clock.now() + FOLLOW_UP, scheduled_at=clock.now())


@pytest.mark.parametrize("csat", [3, 5])
def test_a_csat_of_three_or_more_does_not_schedule_a_follow_up(clock, csat):
    closure = confirmed(clock)
    return_survey(closure, clock, csat=csat)
    assert [type(e).__name__ for e in closure.take_pending()] == ["SurveyReturned"]


def test_the_survey_sent_on_automatic_closing_can_be_returned(clock):
    closure = awaiting(clock)
    clock.advance(WAIT)
    closure.close_unanswered("s-auto", SURVEY_TTL, clock.now())
    closure.take_pending()
    return_survey(closure, clock, survey_id="s-auto", csat=2)
    assert [type(e).__name__ for e in closure.take_pending()] == ["SurveyReturned", "FollowUpScheduled"]


# --- rehydration -----------------------------------------------------------------------------------------------


def test_rehydrating_from_the_recorded_events_gives_the_same_state(clock):
    live = Closure.for_request("r1")
    live.resolved("fixed", "First try", WAIT, clock.now())
    live.answer(False, "Still jams", "c1", "s1", SURVEY_TTL, clock.now())
    clock.advance(days=1)
    live.resolved("fixed", "Second try", WAIT, clock.now())
    live.answer(True, None, "c1", "s1", SURVEY_TTL, clock.now())
    return_survey(live, clock, csat=2)
    history = live.take_pending()

    rebuilt = Closure.rehydrate(history, version=len(history))

    assert rebuilt.version == 8
    assert rebuilt.changed is False
    for attr in ("request_id", "status", "closes_at", "survey_id", "survey_expires", "survey_returned", "rejections"):
        assert getattr(rebuilt, attr) == getattr(live, attr), attr
    assert (rebuilt.status, rebuilt.survey_id, rebuilt.survey_returned, rebuilt.rejections) == ("closed", "s1", True, 1)


def test_a_rehydrated_awaiting_closure_keeps_its_deadline_and_can_close_by_silence(clock):
    live = awaiting(clock)
    history = [ev.ConfirmationRequested(request_id="r1", resolution_code="fixed", summary="s",
                                        closes_at=live.closes_at, requested_at=clock.now())]
    rebuilt = Closure.rehydrate(history, version=1)
    assert (rebuilt.request_id, rebuilt.status, rebuilt.closes_at) == ("r1", "awaiting_confirmation", live.closes_at)

    clock.advance(WAIT)
    assert rebuilt.close_unanswered("s1", SURVEY_TTL, clock.now()) is True
    assert [type(e).__name__ for e in rebuilt.take_pending()] == ["RequestClosed", "SurveySent"]


def test_a_rehydrated_closure_refuses_a_second_survey_return(clock):
    live = confirmed(clock)
    history = [ev.RequestClosed(request_id="r1", how="confirmed", closed_at=clock.now()),
               ev.SurveySent(request_id="r1", survey_id="s1", expires_at=clock.now() + SURVEY_TTL,
                             sent_at=clock.now())]
    return_survey(live, clock)
    history += live.take_pending()

    rebuilt = Closure.rehydrate(history, version=3)
    assert rebuilt.survey_returned is True
    with pytest.raises(InvalidTransition):
        return_survey(rebuilt, clock)


# --- survey links ----------------------------------------------------------------------------------------------


@pytest.fixture
def links() -> SurveyLinks:
    return SurveyLinks(SECRET, ISSUER, "https://trail.example/")


def test_a_minted_link_reads_back_its_request_and_survey(links, clock):
    token = links.mint("r1", "s1", clock.now() + SURVEY_TTL)
    assert links.read(token, clock.now()) == ("r1", "s1")
    assert links.url(token) == f"https://trail.example/v1/surveys/{token}"


def test_a_link_reads_back_up_to_and_including_its_expiry_second(links, clock):
    expires = clock.now() + SURVEY_TTL
    token = links.mint("r1", "s1", expires)
    assert links.read(token, expires) == ("r1", "s1")


def test_a_link_read_after_its_expiry_is_an_expired_survey_link(links, clock):
    expires = clock.now() + SURVEY_TTL
    token = links.mint("r1", "s1", expires)
    with pytest.raises(ExpiredSurveyLink):
        links.read(token, expires + timedelta(seconds=1))
    assert issubclass(ExpiredSurveyLink, BadSurveyLink)


def test_a_link_whose_expiry_is_already_past_on_the_real_clock_is_judged_by_the_given_now(links, clock):
    # expiry judged by `now`, not the wall clock: a link that expired in 2001 still reads in 2000
    past = clock.now().replace(year=2001)
    token = links.mint("r1", "s1", past)
    assert links.read(token, past - timedelta(days=1)) == ("r1", "s1")
    with pytest.raises(ExpiredSurveyLink):
        links.read(token, clock.now())


def test_a_link_signed_with_another_secret_is_bad(links, clock):
    other = SurveyLinks(OTHER_SECRET, ISSUER, "https://trail.example")
    token = other.mint("r1", "s1", clock.now() + SURVEY_TTL)
    with pytest.raises(BadSurveyLink) as raised:
        links.read(token, clock.now())
    assert not isinstance(raised.value, ExpiredSurveyLink)


def test_a_link_from_another_issuer_is_bad(links, clock):
    other = SurveyLinks(SECRET, "someone-else", "https://trail.example")
    token = other.mint("r1", "s1", clock.now() + SURVEY_TTL)
    with pytest.raises(BadSurveyLink):
        links.read(token, clock.now())


def test_a_token_for_another_audience_is_bad(links, clock):
    claims = {"iss": ISSUER, "aud": "servicetrail-login", "sub": "r1", "jti": "s1",
              "exp": int((clock.now() + SURVEY_TTL).timestamp())}
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    with pytest.raises(BadSurveyLink) as raised:
        links.read(token, clock.now())
    assert not isinstance(raised.value, ExpiredSurveyLink)


def test_a_token_without_an_audience_or_a_survey_id_is_bad(links, clock):
    exp = int((clock.now() + SURVEY_TTL).timestamp())
    no_audience = jwt.encode({"iss": ISSUER, "sub": "r1", "jti": "s1", "exp": exp}, SECRET, algorithm="HS256")
    no_survey = jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "r1", "exp": exp}, SECRET, algorithm="HS256")
    for token in (no_audience, no_survey):
        with pytest.raises(BadSurveyLink):
            links.read(token, clock.now())


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_tampered_link_is_bad(links, clock):
    token = links.mint("r1", "s1", clock.now() + SURVEY_TTL)
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["sub"] == "r1"
    claims["sub"] = "r2"
    tampered = ".".join([header, _b64(claims), signature])

    with pytest.raises(BadSurveyLink):
        links.read(tampered, clock.now())


def test_a_link_with_a_mangled_signature_is_bad(links, clock):
    token = links.mint("r1", "s1", clock.now() + SURVEY_TTL)
    header, payload, signature = token.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    with pytest.raises(BadSurveyLink):
        links.read(".".join([header, payload, flipped]), clock.now())


def test_an_unsigned_alg_none_link_is_bad(links, clock):
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "r1", "jti": "s1",
              "exp": int((clock.now() + SURVEY_TTL).timestamp())}
    token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    with pytest.raises(BadSurveyLink):
        links.read(token, clock.now())


@pytest.mark.parametrize("garbage", ["", "not-a-token", "a.b.c"])
def test_garbage_is_a_bad_link(links, clock, garbage):
    with pytest.raises(BadSurveyLink):
        links.read(garbage, clock.now())


def test_a_rejection_reason_of_only_spaces_is_no_reason():
    from datetime import datetime, timedelta, timezone

    from services.feedback.domain.closure import Closure
    from shared.errors import Invalid

    now = datetime(2026, 1, 5, 9, tzinfo=timezone.utc)
    closure = Closure.for_request("r1")
    closure.resolved("fixed", "done", timedelta(days=3), now)
    with pytest.raises(Invalid) as error:
        closure.answer(False, "   ", "c1", "s1", timedelta(days=14), now)
    assert error.value.field == "reason"


def test_a_survey_link_never_expires_before_its_survey():
    from datetime import datetime, timedelta, timezone

    from services.feedback.adapters.survey_links import SurveyLinks

    links = SurveyLinks("x" * 40, "iss", "https://h")
    expires = datetime(2026, 1, 5, 9, 0, 0, 500000, tzinfo=timezone.utc)
    assert links.read(links.mint("r1", "s1", expires), expires - timedelta(milliseconds=200)) == ("r1", "s1")
