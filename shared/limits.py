"""The bounds on everything a client may send, in one place for all four services.

Why: one unbounded field (a shift of 100,000 holidays) made a 1.3 MB event that the relay could
never publish, and retried for good, so nothing that service recorded after it reached anyone.
Each bound is what a real desk needs with room to spare, and together they keep the largest
event a command can record far below the event size limit (the worst field, a 10,000-character
text whose every character JSON-escapes to 6 bytes, is 60 kB; a whole shift is ~20 kB). A bound
broken answers 422 naming the field; the event store refuses any event still too large (413,
`EventStore.check_fits`), as a last line of defence.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from functools import lru_cache
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, GetJsonSchemaHandler, StringConstraints
from pydantic.json_schema import JsonSchemaValue

from shared.shredding.crypto import PREFIX

# --- strings (characters, after surrounding whitespace is stripped) ------------------------------
ID_MAX = 100  # ids a client chooses or refers to: customers, resources, requests (uuids are 36)
NAME_MAX = 200  # names, titles, categories, zones, teams, owners, milestones
CODE_MAX = 60  # short words: skill names, resolution codes, stages, survey dimensions
TIMEZONE_MAX = 64  # an IANA zone name (the longest in use is 32)
DATE_MAX = len("YYYY-MM-DD")
INTERVAL_MAX = len("HH:MM-HH:MM")
EMAIL_MAX = 254  # the longest address SMTP can carry (RFC 5321)
LOCATION_MAX = 500  # an address with directions
REASON_MAX = 2_000  # why a change is made: a few sentences
TEXT_MAX = 10_000
TOKEN_MAX = 2_000  # a signed link's token (a survey link's JWT is ~300 characters)  # descriptions, notes, summaries, comments, findings, plans: a few pages

# --- lists and maps (entries) ---------------------------------------------------------------------
SKILLS_MAX = 50  # skills of one resource
HOLIDAYS_MAX = 1_000  # a shift's closed dates: public holidays and site closures for decades ahead
WEEKDAYS_MAX = 7  # a shift's `hours` has a key per weekday at most
INTERVALS_MAX = 12  # open intervals in one day of a shift (split shifts, breaks)
LINKS_MAX = 100  # feedback items one improvement action answers
DIMENSIONS_MAX = 10  # survey dimensions scored at once (SERVQUAL has five)

# --- numbers --------------------------------------------------------------------------------------
CAPACITY_MAX = 100  # jobs one resource holds at once
SKILL_LEVEL_MAX = 5
SCORE_MAX = 5  # CSAT and survey dimensions: 1..5
NPS_MAX = 10  # net promoter score: 0..10


SEALED_PREFIX = PREFIX  # the form of a sealed value (shared.shredding.crypto)


def no_nul(value: str) -> str:
    """Refuses U+0000: PostgreSQL can store it neither in text nor in jsonb (every event), so it
    would fail deep inside a command as a server error instead of here as the client's 422. Refuses
    too a value in the form of a sealed one (`enc:v1:`): it would pass for a value sealed already
    and be stored as it is, not sealed (shared.shredding)."""
    if "\x00" in value:
        raise ValueError("must not contain a NUL character (U+0000)")
    if value.startswith(SEALED_PREFIX):
        raise ValueError(f"must not begin with {SEALED_PREFIX!r}, the form of a sealed value")
    return value


# The same rule in the schema, for clients and Schemathesis: no NUL anywhere, and, for a text that
# must not be empty, not blank either (surrounding whitespace is stripped before the length is
# judged). Stated as `not` a pattern rather than as `pattern` so that each type keeps its own
# pattern (an email's), and so tests/api/hostile.py, which picks valid values by pattern, still can.
NUL = f"\\x00|^\\s*{re.escape(SEALED_PREFIX)}"
NUL_OR_BLANK = f"\\x00|^\\s*$|^\\s*{re.escape(SEALED_PREFIX)}"


class _NoNulValidator(AfterValidator):
    """`no_nul` for validation, and the rule shown in the schema: documentation only, so
    validation stays one `in` test, no regex (intake's submit is the hot path)."""

    def __get_pydantic_json_schema__(self, schema: Any, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["not"] = {"pattern": NUL_OR_BLANK if json_schema.get("minLength", 0) else NUL}
        return json_schema


NoNul = _NoNulValidator(no_nul)


def _text(max_length: int, min_length: int = 1) -> Any:
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length), NoNul]


Id = _text(ID_MAX)
Name = _text(NAME_MAX)
Code = _text(CODE_MAX)
TimeZone = _text(TIMEZONE_MAX)
Location = _text(LOCATION_MAX)
Reason = _text(REASON_MAX)
Text = _text(TEXT_MAX)
# An id in a URL path: bounded and free of NUL like any id sent in a body (422 naming the parameter).
PathId = Id
SurveyToken = _text(TOKEN_MAX)
Cursor = _text(500)  # an opaque paging cursor this API handed out
# Free text that may also be sent blank (an acknowledgement's message, a note beside a confirmation).
Remark = _text(TEXT_MAX, min_length=0)

# --- instants and dates ---------------------------------------------------------------------------
# Far enough either way for any service record (history imported from 1900, plans to 2999), near
# enough that every conversion (to UTC, a day added, PostgreSQL's timestamptz) stays in range:
# 9999-12-31T23:59:59-23:59 is a valid ISO 8601 string whose UTC time Python cannot represent.
EARLIEST = datetime(1900, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2999, 12, 31, tzinfo=timezone.utc)
OFFSET_MAX = 1_000_000  # rows skipped in a queue page: far beyond any queue, within every integer type


def instant_in_range(value: datetime) -> datetime:
    """An instant with a time zone, between 1900 and 2999 (ValueError otherwise): a naive one is
    ambiguous, and comparing it with the service's aware instants fails."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("needs a time zone offset (e.g. 2026-03-02T10:00:00+00:00 or ...Z)")
    if not EARLIEST <= value <= LATEST:
        raise ValueError(f"must lie between {EARLIEST.year} and {LATEST.year}")
    return value


def day_in_range(value: date) -> date:
    if not EARLIEST.date() <= value <= LATEST.date():
        raise ValueError(f"must lie between {EARLIEST.year} and {LATEST.year}")
    return value


def _iso_text(what: str) -> BeforeValidator:
    """Refuses numbers, and strings that are numbers: pydantic would read them as Unix times
    (`until: 0` is 1970), but the schema says, and clients are told, ISO 8601 text. A check
    before pydantic's own, not Strict: FastAPI validates Python objects, where Strict would refuse
    every string too."""

    def check(value: Any) -> Any:
        if isinstance(value, (int, float, bool)) or (isinstance(value, str) and _is_number(value)):
            raise ValueError(f"must be {what}")
        return value

    return BeforeValidator(check)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class _Years:
    """The year bounds in the schema, as a pattern beside its format (documentation only; the
    validators above judge): so clients, and Schemathesis, send what is accepted."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern

    def __get_pydantic_json_schema__(self, schema: Any, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {**handler(schema), "pattern": self.pattern}


# An instant in 1901-2998 lies within the bounds whatever its offset; a day in 1900-2999 does.
_INSTANT_YEARS = _Years(r"^(?:19(?:0[1-9]|[1-9]\d)|2(?:[0-8]\d\d|9(?:[0-8]\d|9[0-8])))-")
Instant = Annotated[datetime, _iso_text("an ISO 8601 date-time string"), AfterValidator(instant_in_range),
                    _INSTANT_YEARS]
Day = Annotated[date, _iso_text("an ISO 8601 date string (YYYY-MM-DD)"), AfterValidator(day_in_range),
                _Years(r"^(?:19|2\d)\d\d-")]

Capacity = Annotated[int, Field(ge=1, le=CAPACITY_MAX)]
SkillLevel = Annotated[int, Field(ge=1, le=SKILL_LEVEL_MAX)]
Score = Annotated[int, Field(ge=1, le=SCORE_MAX)]
Nps = Annotated[int, Field(ge=0, le=NPS_MAX)]


@lru_cache(maxsize=1)
def event_max_bytes() -> int:
    """EVENT_MAX_BYTES as configured (`Settings.event_max_bytes`), read once per process."""
    from shared.settings import Settings  # settings import nothing of ours; imported late all the same

    return Settings().event_max_bytes
