"""Business-hours calendars for SLA deadlines: open time is defined in local wall-clock time. Pure."""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

UTC = timezone.utc
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
END_OF_DAY = time.max  # how "24:00" is stored: an interval end meaning the next local midnight
_ONE_DAY = timedelta(days=1)
_ALL_DAY = ((time(0), END_OF_DAY),)
_SPEC_KEYS = {"name", "timezone", "hours", "holidays", "always_open"}
_INTERVAL = re.compile(r"(\d\d):(\d\d)-(\d\d):(\d\d)")

Hours = tuple[tuple[tuple[time, time], ...], ...]
_BUILT: dict[bytes, "BusinessCalendar"] = {}  # by spec, sorted JSON
_BUILT_LIMIT = 256


@dataclass(frozen=True)
class BusinessCalendar:
    """Weekly local opening hours plus closed local dates in one IANA timezone; takes aware datetimes, returns UTC.

    Intervals become UTC per local date (fold=0), so DST days have an hour more or less of real time.
    An interval end of `END_OF_DAY` ("24:00" in a spec) means the following local midnight.
    """

    name: str
    timezone: str
    hours: Hours
    holidays: frozenset[date] = frozenset()
    _zone_info: ZoneInfo = field(init=False, repr=False, compare=False)
    _utc_days: dict[date, tuple[tuple[datetime, datetime], ...]] = field(init=False, repr=False, compare=False)
    _always_open: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("calendar name must be a non-empty string")
        _zone(self.timezone)
        if len(self.hours) != 7:
            raise ValueError(f"hours must have 7 entries (Monday..Sunday), got {len(self.hours)}")
        for day, intervals in zip(DAYS, self.hours, strict=True):
            _check_intervals(day, intervals)
        if not any(self.hours):
            raise ValueError(f"calendar {self.name!r} has no open time in the week")
        # Not fields (so not compared or hashed): the zone, and each local day's open intervals in
        # UTC as they are first asked for. Deadlines are computed on every submission.
        object.__setattr__(self, "_zone_info", _zone(self.timezone))
        object.__setattr__(self, "_utc_days", {})
        object.__setattr__(self, "_always_open", not self.holidays and all(day == _ALL_DAY for day in self.hours))

    @classmethod
    def always_open(cls, name: str = "24x7") -> BusinessCalendar:
        """A UTC calendar that is open at every instant."""
        return cls(name, "UTC", (_ALL_DAY,) * 7, frozenset())

    @classmethod
    def from_spec(cls, spec: dict) -> BusinessCalendar:
        """Build a calendar from its JSON spec; raises ValueError naming whatever is wrong. Equal
        specs give one calendar, built once: every job and request carries its calendar's spec,
        and a calendar keeps the UTC intervals of the days it was asked about."""
        try:
            key = orjson.dumps(spec, option=orjson.OPT_SORT_KEYS)
        except TypeError:  # not JSON (then not a spec: parsing it says why)
            return cls._parsed(spec)
        if (known := _BUILT.get(key)) is None:
            if len(_BUILT) >= _BUILT_LIMIT:
                _BUILT.clear()
            known = _BUILT[key] = cls._parsed(spec)
        return known

    @classmethod
    def _parsed(cls, spec: dict) -> BusinessCalendar:
        if not isinstance(spec, dict):
            raise ValueError("a calendar spec must be a JSON object")
        if unknown := set(spec) - _SPEC_KEYS:
            raise ValueError(f"unknown spec keys: {sorted(unknown)}")
        name, zone = spec.get("name"), spec.get("timezone")
        if spec.get("always_open"):
            if "hours" in spec or "holidays" in spec:
                raise ValueError("an always_open spec cannot also list hours or holidays")
            return replace(cls.always_open(name), timezone=zone)
        hours = spec.get("hours", {})
        if not isinstance(hours, dict):
            raise ValueError("hours must map weekday keys to lists of 'HH:MM-HH:MM'")
        if unknown := set(hours) - set(DAYS):
            raise ValueError(f"unknown weekday keys in hours: {sorted(unknown)}; expected {list(DAYS)}")
        if not isinstance(holidays := spec.get("holidays", []), list):
            raise ValueError("holidays must be a list of 'YYYY-MM-DD' dates")
        parsed = tuple(tuple(sorted(_parse_interval(day, text) for text in hours.get(day, ()))) for day in DAYS)
        return cls(name, zone, parsed, frozenset(_parse_date(text) for text in holidays))

    def to_spec(self) -> dict:
        """The JSON-ready spec; `from_spec(cal.to_spec()) == cal`."""
        if self.is_always_open:
            return {"name": self.name, "timezone": self.timezone, "always_open": True}
        hours = {day: [_interval_text(*span) for span in spans] for day, spans in zip(DAYS, self.hours, strict=True)}
        holidays = [d.isoformat() for d in sorted(self.holidays)]
        return {"name": self.name, "timezone": self.timezone, "hours": hours, "holidays": holidays}

    @property
    def is_always_open(self) -> bool:
        """True when every day is open 00:00-24:00 and there are no holidays."""
        return self._always_open

    def is_open(self, at: datetime) -> bool:
        """Whether `at` falls inside an open interval (start inclusive, end exclusive)."""
        return self.next_open(at) == _as_utc(at)

    def next_open(self, at: datetime) -> datetime:
        """`at` itself if open, else the start of the next open interval."""
        return next(self._open_intervals(_as_utc(at)))[0]

    def add_business_time(self, start: datetime, duration: timedelta) -> datetime:
        """The instant at which `duration` of open time has elapsed since `start`."""
        start = _as_utc(start)
        if duration < timedelta(0):
            raise ValueError(f"duration must not be negative, got {duration}")
        if duration == timedelta(0) or self.is_always_open:
            return start + duration
        remaining = duration
        for opens, closes in self._open_intervals(start):
            if closes - opens >= remaining:
                return opens + remaining
            remaining -= closes - opens
        raise AssertionError("unreachable: open intervals never run out")

    def add_business_days(self, start: datetime, days: int) -> datetime:
        """The same local time of day `days` open days after `next_open(start)`; if that time is closed
        there, the end of the day's latest interval before it (or the day's opening if it opens later)."""
        if days < 0:
            raise ValueError(f"days must not be negative, got {days}")
        begin = self.next_open(start)
        if days == 0 or self.is_always_open:
            return begin + days * _ONE_DAY
        zone = self._zone_info
        local = begin.astimezone(zone)
        day, time_of_day = local.date(), local.time().replace(fold=0)
        for _ in range(days):
            day += _ONE_DAY
            while not self._hours_on(day):
                day += _ONE_DAY
        return _local_to_utc(day, self._clamp(day, time_of_day), zone)

    def instant_at_share(self, start: datetime, end: datetime, share: float) -> datetime:
        """`add_business_time(start, business_time_between(start, end) * share)`, for 0 <= share <= 1,
        walking the open intervals once rather than twice (a rebuild computes it for every request)."""
        start, end = _as_utc(start), _as_utc(end)
        if end <= start:
            return start
        if self.is_always_open:
            return start + (end - start) * share
        spans: list[tuple[datetime, timedelta]] = []
        total = timedelta(0)
        for opens, closes in self._open_intervals(start):
            if opens >= end:
                break
            spans.append((opens, min(closes, end) - opens))
            total += spans[-1][1]
        remaining = total * share
        if not remaining:
            return start
        # Only the last span can have been cut at `end`, and `remaining` fits within it once there.
        for opens, length in spans:
            if length >= remaining:
                return opens + remaining
            remaining -= length
        raise AssertionError("unreachable: share is at most 1")

    def business_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Open time within [start, end); zero when end <= start."""
        start, end = _as_utc(start), _as_utc(end)
        total = timedelta(0)
        if end <= start:
            return total
        if self.is_always_open:
            return end - start
        for opens, closes in self._open_intervals(start):
            if opens >= end:
                return total
            total += min(closes, end) - opens

    def _hours_on(self, day: date) -> tuple[tuple[time, time], ...]:
        return () if day in self.holidays else self.hours[day.weekday()]

    def _open_intervals(self, after: datetime) -> Iterator[tuple[datetime, datetime]]:
        # Start a day early: if a DST gap spans midnight, fold=0 can put yesterday's 24:00 after `after`.
        day = after.astimezone(self._zone_info).date() - _ONE_DAY
        cursor = after
        while True:
            for start, closes in self._utc_intervals_on(day):
                # In a DST gap fold=0 can map a later wall time to an earlier instant; clipping to the
                # cursor keeps the UTC intervals ordered and disjoint so nothing is counted twice.
                opens = max(start, cursor)
                if closes > opens:
                    cursor = closes
                    yield opens, closes
            day += _ONE_DAY

    def _utc_intervals_on(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        days = self._utc_days
        if (found := days.get(day)) is None:
            zone = self._zone_info
            found = tuple((_local_to_utc(day, s, zone), _local_to_utc(day, e, zone)) for s, e in self._hours_on(day))
            if len(days) >= 4096:  # bounded: a long-running process sees ever new days
                days.clear()
            days[day] = found
        return found

    def _clamp(self, day: date, time_of_day: time) -> time:
        intervals = self._hours_on(day)
        latest = intervals[0][0]
        for start, end in intervals:
            if start <= time_of_day < end:
                return time_of_day
            if end <= time_of_day:
                latest = end
        return latest


def _check_intervals(day: str, intervals: tuple[tuple[time, time], ...]) -> None:
    previous_end = time(0)
    for start, end in intervals:
        if start >= end:
            raise ValueError(f"{day}: interval {_interval_text(start, end)} must start before it ends")
        if start < previous_end:
            raise ValueError(f"{day}: interval {_interval_text(start, end)} overlaps the one before it")
        previous_end = end


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        raise ValueError(f"unknown timezone {name!r}") from None


def _as_utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"datetime must be timezone-aware, got naive {at.isoformat()}")
    return at.astimezone(UTC)


def _local_to_utc(day: date, at: time, zone: ZoneInfo) -> datetime:
    if at == END_OF_DAY:
        day, at = day + _ONE_DAY, time(0)
    return datetime.combine(day, at, zone).astimezone(UTC)


def _parse_interval(day: str, text: object) -> tuple[time, time]:
    match = _INTERVAL.fullmatch(text) if isinstance(text, str) else None
    h1, m1, h2, m2 = map(int, match.groups()) if match else (99, 0, 0, 0)
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
        raise ValueError(f"{day}: malformed interval {text!r}; expected 'HH:MM-HH:MM' (24:00 allowed as an end)")
    return time(h1, m1), END_OF_DAY if h2 == 24 else time(h2, m2)


def _parse_date(text: object) -> date:
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise ValueError(f"bad holiday date {text!r}; expected 'YYYY-MM-DD'") from None


def _interval_text(start: time, end: time) -> str:
    return f"{start:%H:%M}-{'24:00' if end == END_OF_DAY else f'{end:%H:%M}'}"
