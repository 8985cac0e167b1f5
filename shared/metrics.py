"""Prometheus metrics shared by the machinery; labelled by service so processes can share code."""
from prometheus_client import Counter, Gauge, Histogram

RELAY_PUBLISHED = Counter(
    "servicetrail_relay_published_total", "Events the outbox relay published", ["service"]
)
RELAY_POSITION = Gauge(
    "servicetrail_relay_position", "Last global position the relay published", ["service"]
)
CONSUMER_APPLIED = Counter(
    "servicetrail_consumer_applied_total", "Events a consumer applied", ["consumer", "topic"]
)
CONSUMER_SKIPPED = Counter(
    "servicetrail_consumer_duplicates_total", "Redelivered events a consumer skipped", ["consumer", "topic"]
)
CONSUMER_GAPS = Counter(
    "servicetrail_consumer_version_gaps_total",
    "Events applied ahead of a missing earlier version of their stream (a gap opened)",
    ["consumer", "topic"],
)
CONSUMER_UNKNOWN = Counter(
    "servicetrail_consumer_unknown_events_total",
    "Records of an event type (or version) this consumer's contracts do not know, skipped", ["consumer", "topic"]
)
CONSUMER_LATE = Counter(
    "servicetrail_consumer_late_events_total",
    "Events applied after a later version of their stream (a redrive or republish filling a gap)",
    ["consumer", "topic"],
)
CONSUMER_DEAD_LETTERED = Counter(
    "servicetrail_consumer_dead_lettered_total", "Events sent to the dead-letter topic", ["consumer", "topic"]
)
CONSUMER_LAG = Gauge(
    "servicetrail_consumer_lag",
    "Records behind the fetch high watermark",
    ["consumer", "topic", "partition"],
)
HTTP_LATENCY = Histogram(
    "servicetrail_http_request_seconds", "HTTP request latency", ["service", "method", "route", "status"]
)
FAST_LANE = Counter(
    "servicetrail_http_fast_lane_total",
    "Requests to a fast-lane route: answered by the lane, or passed on to the FastAPI route",
    ["route", "outcome"],
)
FOLLOWER_STALLED = Gauge(
    "servicetrail_follower_stalled",
    "1 while a background loop (relay, projection, scheduler) has failed every round for longer than "
    "FOLLOWER_STALL_SECONDS",
    ["schema", "follower"],
)
FOLLOWER_BEHIND = Gauge(
    "servicetrail_follower_behind",
    "Events in the store a position follower has not yet handled, as of its last batch (the relay's: "
    "the outbox backlog; a projection's: its lag)",
    ["schema", "follower"],
)
DEAD_LETTERS_PENDING = Gauge(
    "servicetrail_dead_letters_pending",
    "Dead letters of a consumer neither retried nor discarded (`servicetrail dlq`)",
    ["consumer"],
)
SCHEDULER_DUE = Gauge(
    "servicetrail_scheduler_due_timers",
    "Timers a scheduler found due in its last pass (its batch size when more were waiting)",
    ["schema", "scheduler"],
)
DB_POOL_IN_USE = Gauge("servicetrail_db_pool_in_use", "Connections checked out of a pool", ["pool"])
DB_POOL_SIZE = Gauge("servicetrail_db_pool_size", "Connections a pool holds at most", ["pool"])
