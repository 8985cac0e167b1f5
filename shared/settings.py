"""Configuration from the environment (pydantic-settings); names match CONTRACT.md where it fixes them."""
from __future__ import annotations

from datetime import datetime

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The development keys, used only when DEV_SECRETS=true (set by `make run`, the tests, the benchmarks
# and `make chaos`). Without it a process with no JWT_SECRET (or JWKS) refuses to start: a deployment
# can never fall into a key everyone knows (shared.auth.MissingSecret).
DEV_JWT_SECRET = "servicetrail-local-development-secret-change-me"
DEV_SURVEY_LINK_SECRET = "servicetrail-local-development-survey-links-change-me"
DEV_KEYSTORE_MASTER_KEY = "c2VydmljZXRyYWlsLWRldi1tYXN0ZXIta2V5LTMyYnk="  # 32 bytes, base64

# The four services and their ports (CONTRACT.md). Each one's consumer group is its name.
SERVICE_PORTS = {"intake": 8001, "dispatch": 8002, "feedback": 8003, "analytics": 8004}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    database_url: str | None = Field(default=None, description="unset = embedded PostgreSQL")
    kafka_bootstrap_servers: str | None = Field(default=None, description="unset = embedded broker")
    # Tansu has no InitProducerId; real Kafka keeps idempotence on.
    kafka_idempotence: bool = True
    topic_partitions: int = Field(default=3, ge=1)
    # Put before every topic name (CONTRACT.md's names have none): lets a test or staging stack
    # run its own copy of the topics on a shared broker.
    topic_prefix: str = ""
    # Where `servicetrail dlq` records what was done with each dead letter (retried, discarded).
    ops_schema: str = "ops"

    # HS256 key for bearer tokens. Unset: JWT_JWKS_URL or JWT_JWKS_FILE (RS256 tokens of an identity
    # provider) must be, or DEV_SECRETS=true for local development; else the process refuses to start.
    jwt_secret: SecretStr | None = None
    jwt_jwks_url: str | None = Field(default=None, description="the identity provider's JWKS (RS256 keys)")
    jwt_jwks_file: str | None = Field(default=None, description="the same, from a file")
    # How often the JWKS is read again (key rotation); an unknown key id asks sooner, at most this often.
    jwt_jwks_refresh_seconds: float = Field(default=300, gt=0)
    jwt_jwks_retry_seconds: float = Field(default=30, gt=0)
    jwt_issuer: str = "servicetrail"
    jwt_audience: str = "servicetrail"
    jwt_ttl_seconds: int = Field(default=8 * 3600, ge=60)
    # Survey links' own HS256 key (feedback): a leaked link key must not mint bearer tokens, nor the
    # reverse. Unset needs DEV_SECRETS=true.
    survey_link_secret: SecretStr | None = None
    # Local development only: use the DEV_* keys above for whatever key is unset. Never in production.
    dev_secrets: bool = False

    # Crypto-shredding (shared/shredding): the master key that wraps customers' data keys, base64
    # of 32 bytes (`openssl rand -base64 32`); unset needs DEV_SECRETS=true. Every service of a
    # deployment has the same one. The key store's tables live in their own schema, by default in
    # the service's database; another URL puts them elsewhere (it is reached on its own pool).
    keystore_master_key: SecretStr | None = None
    keystore_database_url: str | None = None
    keystore_schema: str = "keystore"
    # The services that may read data keys (open personal fields); any other may only seal.
    keystore_readers: str = "intake,feedback,analytics"
    # At least 2: one connection is kept for sealing's batched key look-ups, the rest are shared.
    keystore_pool_size: int = Field(default=5, ge=2)

    # Simulated time, for `servicetrail demo` only (shared.clock.ScaledClock): unset, every service
    # reads the system clock. Set, time runs from CLOCK_START at CLOCK_RATE times real speed since the
    # Unix instant CLOCK_ANCHOR, and stands still at CLOCK_END. Tokens, rate limits and stall
    # detection keep real time.
    clock_start: datetime | None = None
    clock_rate: float = Field(default=1.0, gt=0)
    clock_anchor: float | None = None
    clock_end: datetime | None = None

    log_level: str = "INFO"
    log_json: bool = True
    # FastAPI's native OpenTelemetry (traces, metrics and logs to the globally configured
    # providers). Off unless asked for: Prometheus serves /metrics, and looking for providers on
    # every request costs a hot path a few per cent.
    http_telemetry: bool = False
    # The largest request body a route reads (bytes): a larger one is refused with 413 before it is
    # read (by Content-Length, or as it streams in). One 15 MB JSON body held a service's event loop
    # for 6 s; the largest valid command is well under 200 kB (shared/limits.py).
    http_max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # Whether a service's hottest command (intake's submit) takes the fast lane past FastAPI's
    # routing and dependency layers when its caller and body check out (shared/http/fast_lane.py).
    http_fast_lane: bool = True

    relay_poll_seconds: float = Field(default=0.25, gt=0)
    # Events per relay batch at most. Each batch costs a fixed number of database round trips, and
    # in a process also serving HTTP each round trip waits behind the requests in flight: at 500 the
    # relay of a saturated intake fell behind by ~1,000 events/s; at 2,000 it keeps up.
    relay_batch_size: int = Field(default=2000, ge=1)
    # After a wake-up, how long the relay and projections wait for more commits to batch with.
    follower_linger_seconds: float = Field(default=0.005, ge=0)
    # Set when the broker is known to be empty (the embedded one restarts with nothing).
    relay_republish_from: int | None = None
    # How often a relay makes sure the broker still holds what it acknowledged (topics, partition
    # counts, the last record of each partition), so a broker that lost it is noticed when idle too.
    broker_check_seconds: float = Field(default=5.0, gt=0)
    # How long a relay, projection or sequencer leader may hang (a frozen process, a stalled event
    # loop) before PostgreSQL ends its session and another process takes over (shared.checkpoint.Lease).
    leader_lease_seconds: float = Field(default=20.0, ge=1)
    # How long a background loop may fail every round before /readyz, a metric and a log say so.
    follower_stall_seconds: float = Field(default=10.0, gt=0)

    # How soon a dead group member's partitions move to a live one.
    consumer_session_timeout_ms: int = Field(default=10_000, ge=1_000)
    # How long a fetch may wait at the broker for records: the floor of consumer latency when quiet.
    consumer_fetch_max_wait_ms: int = Field(default=25, ge=1)
    # Prepended to every consumer group id: lets two deployments (or test runs) share a broker.
    consumer_group_prefix: str = ""
    consumer_max_attempts: int = Field(default=3, ge=1)
    # How often a service counts its consumers' pending dead letters (servicetrail_dead_letters_pending).
    dead_letter_gauge_seconds: float = Field(default=30.0, gt=0)
    consumer_retry_backoff_seconds: float = Field(default=0.2, ge=0)

    # Whether this process also runs the relay, projections and consumers. Turn it off to serve
    # only HTTP and run them in a `servicetrail work` process (scaled and placed on their own).
    background_work: bool = True
    # Processes `servicetrail serve` starts for one service, sharing its port. Each runs the whole
    # service; their background loops elect one leader for each job.
    http_workers: int = Field(default=1, ge=1)
    db_pool_size: int = Field(default=20, ge=2)
    # Group-commit writer tasks; each keeps one pooled connection (so does intake's duplicate
    # lookup), so the pool must be larger by at least a few connections for everything else.
    append_writers: int = Field(default=2, ge=1)
    # What a 503 answered while the database is unreachable tells clients to wait (Retry-After).
    unavailable_retry_after_seconds: int = Field(default=2, ge=0)
    # The largest event (key, CloudEvents headers and data, as the relay sends it) an append takes;
    # a larger one is refused (413) rather than stopping the relay for good. Below the producer's
    # and Kafka's default 1,048,576-byte message limit, with room for Kafka's own record overhead.
    event_max_bytes: int = Field(default=900_000, ge=1_024, le=1_000_000)

    # Per-client rate limits (shared/http/ratelimit.py): a client is its verified token's subject,
    # else its address. Each is a sustained rate a minute and a burst a client may spend at once;
    # beyond them the answer is 429 with Retry-After. A rate of 0 turns that limit off.
    rate_limit_commands_per_minute: float = Field(default=1200, ge=0)  # POST/PUT/PATCH/DELETE
    rate_limit_commands_burst: int = Field(default=600, ge=1)
    rate_limit_auth_failures_per_minute: float = Field(default=10, ge=0)  # answers 401, by address
    rate_limit_auth_failures_burst: int = Field(default=30, ge=1)
    rate_limit_survey_per_minute: float = Field(default=60, ge=0)  # /v1/surveys/{token}, by address
    rate_limit_survey_burst: int = Field(default=120, ge=1)
    rate_limit_survey_failures_per_minute: float = Field(default=6, ge=0)  # forged, used or expired links
    rate_limit_survey_failures_burst: int = Field(default=20, ge=1)
    # Clients remembered per limit (about 200 bytes each); beyond it the least recently seen are
    # forgotten, so a caller with many addresses cannot grow memory without bound.
    rate_limit_clients: int = Field(default=50_000, ge=16)

    @model_validator(mode="after")
    def _keys_differ(self) -> "Settings":
        if self.jwt_secret and self.survey_link_secret and self.jwt_secret == self.survey_link_secret:
            raise ValueError("SURVEY_LINK_SECRET must differ from JWT_SECRET")
        return self

    @model_validator(mode="after")
    def _one_simulated_clock(self) -> "Settings":
        # Anchored each to its own start, processes would each read another "now".
        if self.clock_start is not None and self.clock_anchor is None:
            raise ValueError("CLOCK_ANCHOR must be set with CLOCK_START: every process reads the same simulated time")
        return self

    @model_validator(mode="after")
    def _pool_leaves_room(self) -> "Settings":
        if self.db_pool_size < self.append_writers + 3:
            raise ValueError(f"DB_POOL_SIZE ({self.db_pool_size}) must be at least APPEND_WRITERS + 3 "
                             f"({self.append_writers + 3}): each writer keeps a connection")
        return self


class ServiceSettings(Settings):
    """One service's settings: the schema it owns and where it listens."""

    service: str
    db_schema: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000

    @property
    def schema_name(self) -> str:
        return self.db_schema or self.service

    @property
    def topic(self) -> str:
        return f"{self.topic_prefix}{self.service}.events"
