"""A simulated week at a service desk, planned in advance from a seed: who calls when, about what,
and how each request's story will go. Pure: the desk (shared/demo/desk.py) plays it through the
public APIs. The shape follows what desks report: Monday is the busiest day, weekends are quiet,
mornings peak; most requests go smoothly, a few are declined, paused, escalated or reopened.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.calendar import BusinessCalendar

DAY_SHAPE = (1.3, 1.1, 1.0, 1.0, 0.9, 0.35, 0.2)  # Monday … Sunday, against an ordinary day
HOUR_SHAPE = (0.1, 0.05, 0.05, 0.05, 0.05, 0.1, 0.3, 0.8, 1.6, 1.8, 1.7, 1.4, 1.0, 1.2, 1.5, 1.4, 1.2,
              0.9, 0.6, 0.4, 0.3, 0.3, 0.2, 0.15)
CHANNELS = {"web": 35, "email": 25, "phone": 25, "chat": 10, "walk_in": 5}
NEEDS = {  # category → (weight, title, description)
    "fault > equipment > printer": (12, "Printer jams", "The office printer jams on every page."),
    "fault > equipment > computer": (10, "Laptop will not start", "The laptop shows a black screen at boot."),
    "fault > network > wifi": (9, "Wi-Fi drops", "The wireless network drops every few minutes."),
    "fault > network > vpn": (6, "VPN refuses login", "The VPN client refuses my password since Monday."),
    "fault > software > email": (8, "Mail stuck in outbox", "Sent mail stays in the outbox."),
    "fault > facilities > heating": (6, "No heating", "The radiators on the second floor are cold."),
    "fault > facilities > lighting": (4, "Lights flicker", "The ceiling lights in the meeting room flicker."),
    "consultation > billing": (9, "Question about an invoice", "The last invoice shows a charge I do not know."),
    "consultation > product": (8, "Which plan fits", "Which plan covers two more users?"),
    "consultation > account": (6, "Change account owner", "The account owner has left; who can take over?"),
    "internal > maintenance": (4, "Quarterly boiler check", "The boiler is due for its quarterly check."),
}
LEVELS = {"low": 40, "medium": 42, "high": 18}
FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Margaret", "Dennis", "Frances", "Tim",
         "Radia", "Linus", "Hedy", "John", "Katherine", "Niklaus", "Shafi", "Donald", "Mary", "Tony")
LAST = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson", "Hamilton", "Ritchie",
        "Allen", "Berners-Lee", "Perlman", "Torvalds", "Lamarr", "Backus", "Johnson", "Wirth")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
SKILL_SETS = (  # what each technician can do: every need's skill is covered by at least two
    ("equipment", "network", "repair"), ("equipment", "software", "network"), ("facilities", "maintenance"),
    ("billing", "account", "product", "advice"), ("product", "account", "billing", "advice"),
    ("software", "network", "equipment"), ("facilities", "maintenance", "equipment"), ("billing", "software"),
)
TEAMS = ("Field", "Field", "Facilities", "Desk", "Desk", "Field", "Facilities", "Desk")


@dataclass(frozen=True)
class Technician:
    id: str
    name: str
    team: str
    skills: tuple[str, ...]
    shift: dict

    def calendar(self) -> BusinessCalendar:
        return BusinessCalendar.from_spec(self.shift)

    def body(self) -> dict:
        return {"id": self.id, "name": self.name, "team": self.team, "skills": list(self.skills),
                "capacity": 4, "shift": self.shift}


@dataclass(frozen=True)
class Story:
    """How one request will go. Durations are simulated time."""
    acknowledge_after: timedelta
    decline: bool = False
    travel: timedelta = timedelta(minutes=20)
    work: timedelta = timedelta(hours=1)
    pause_for: timedelta | None = None
    escalate: bool = False
    reject: bool = False
    withdraw: bool = False
    answers_after: timedelta | None = timedelta(hours=3)  # None: never confirms (closes by itself)
    survey: tuple[int, int] | None = None  # (csat, nps) when the customer returns the survey
    comment: str | None = None
    feedback: str | None = None  # "complaint" or "praise" about the request, after it ends


@dataclass(frozen=True)
class Arrival:
    at: datetime
    customer: dict
    body: dict = field(repr=False)
    story: Story = field(repr=False)


def roster(timezone: str) -> list[Technician]:
    """Eight technicians on an early, a late and a Saturday shift."""
    early = {day: ["07:00-15:00"] for day in WEEKDAYS}
    late = {day: ["12:00-20:00"] for day in WEEKDAYS} | {"sat": ["09:00-13:00"]}
    return [Technician(f"tech-{n + 1}", f"{FIRST[n + 3]} {LAST[n + 5]}", TEAMS[n], SKILL_SETS[n],
                       {"name": "late" if n % 2 else "early", "timezone": timezone, "hours": late if n % 2 else early})
            for n in range(len(SKILL_SETS))]


def plan(start: datetime, days: int, per_day: float, rng: random.Random) -> list[Arrival]:
    """Every request of the simulated days from `start` (a midnight), in order of arrival."""
    customers = [{"id": f"cust-{n:03}", "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                  "email": f"customer{n:03}@example.com", "phone": f"+44 20 7946 {n:04}"} for n in range(90)]
    arrivals: list[Arrival] = []
    hour_total = sum(HOUR_SHAPE)
    for day in range(days):
        for hour in range(24):
            begin = start + timedelta(days=day, hours=hour)
            expected = per_day * DAY_SHAPE[begin.weekday()] * HOUR_SHAPE[hour] / hour_total
            for _ in range(_poisson(expected, rng)):
                at = begin + timedelta(seconds=rng.uniform(0, 3600))
                arrivals.append(_arrival(at, rng.choice(customers), rng))
    return sorted(arrivals, key=lambda a: a.at)


def _arrival(at: datetime, customer: dict, rng: random.Random) -> Arrival:
    category = _pick(rng, {c: w for c, (w, _, _) in NEEDS.items()})
    _, title, description = NEEDS[category]
    urgency, impact = _pick(rng, LEVELS), _pick(rng, LEVELS)
    body = {"customer": customer, "channel": _pick(rng, CHANNELS), "kind": category.split(" > ")[0],
            "category": category, "title": title, "description": description, "urgency": urgency, "impact": impact}
    return Arrival(at, customer, body, _story(category, rng))


def _story(category: str, rng: random.Random) -> Story:
    consultation = category.startswith("consultation")
    reject, pause, escalate = rng.random() < 0.08, rng.random() < 0.15, rng.random() < 0.05
    silent = rng.random() < 0.1
    work = timedelta(minutes=rng.lognormvariate(math.log(25 if consultation else 80), 0.6))
    survey = None
    if not silent and rng.random() < 0.7:
        mood = 4.5 - 1.6 * reject - 0.6 * pause - 0.8 * escalate + rng.gauss(0, 0.8)
        csat = max(1, min(5, round(mood)))
        survey = (csat, max(0, min(10, round(2 * csat + rng.gauss(0, 1.2)))))
    feedback = "complaint" if (reject and rng.random() < 0.5) or rng.random() < 0.03 else (
        "praise" if survey and survey[0] == 5 and rng.random() < 0.15 else None)
    return Story(
        acknowledge_after=timedelta(minutes=rng.lognormvariate(math.log(30), 0.9)),
        decline=rng.random() < 0.07, travel=timedelta(minutes=0 if consultation else rng.uniform(10, 50)),
        work=work, pause_for=timedelta(hours=rng.uniform(2, 20)) if pause else None, escalate=escalate,
        reject=reject, withdraw=rng.random() < 0.03,
        answers_after=None if silent else timedelta(hours=rng.lognormvariate(math.log(4), 1.0)),
        survey=survey, comment=rng.choice((None, None, "Quick and friendly.", "Took too long.", "Fixed for good.")),
        feedback=feedback,
    )


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _poisson(mean: float, rng: random.Random) -> int:
    # Knuth's method: fine for the small means of one hour at one desk.
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k, p = k + 1, p * rng.random()
    return k
