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

from functools import lru_cache
from typing import Annotated

from pydantic import Field, StringConstraints

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
TEXT_MAX = 10_000  # descriptions, notes, summaries, comments, findings, plans: a few pages

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

Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=ID_MAX)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=CODE_MAX)]
TimeZone = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TIMEZONE_MAX)]
Location = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=LOCATION_MAX)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=REASON_MAX)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TEXT_MAX)]
# Free text that may also be sent blank (an acknowledgement's message, a note beside a confirmation).
Remark = Annotated[str, StringConstraints(strip_whitespace=True, max_length=TEXT_MAX)]

Capacity = Annotated[int, Field(ge=1, le=CAPACITY_MAX)]
SkillLevel = Annotated[int, Field(ge=1, le=SKILL_LEVEL_MAX)]
Score = Annotated[int, Field(ge=1, le=SCORE_MAX)]
Nps = Annotated[int, Field(ge=0, le=NPS_MAX)]


@lru_cache(maxsize=1)
def event_max_bytes() -> int:
    """EVENT_MAX_BYTES as configured (`Settings.event_max_bytes`), read once per process."""
    from shared.settings import Settings  # settings import nothing of ours; imported late all the same

    return Settings().event_max_bytes
