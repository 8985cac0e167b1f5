"""Schemathesis against each service's own OpenAPI, every check, as an admin and as the roles that use it.

Issue 13: 0 server errors and 0 schema violations. Each service's real app runs in-process (its own
thread, real HTTP, the suite's PostgreSQL and broker, topics of its own so no other test reads the
junk) and Schemathesis' CLI, its public and stable interface, tests it: per operation the schema's
examples, its coverage cases (boundaries, missing and wrong-typed fields), `FUZZ_EXAMPLES` Hypothesis
cases valid and invalid, and the stateful phase; then every built-in check on each answer (no 5xx;
status code, content type, headers and body as documented; invalid data refused, valid data accepted;
auth not ignored...). The pytest plugin is not used: its lazy loader (the only one that can take a
server started by a fixture) writes pytest's private `_nodeid`, which pytest 9 no longer has.

`make test` runs a small, derandomized budget (the same cases every run, so a red run is real and
repeatable); `make fuzz` sets FUZZ_EXAMPLES higher with new random cases each run. A failure shows the
check, the operation and a curl command reproducing it (the token is shown as `[Filtered]`); the full
report stays in var/fuzz/<service>-<role>/output.txt.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from shared.auth import Role
from tests.fuzz.serving import ThreadedService
from tests.support.app import as_role

ROOT = Path(__file__).resolve().parents[2]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
# One request at a time by default: with several CLI workers, Hypothesis parses lambda sources in threads,
# which Python 3.11's ast does not survive ("AST constructor recursion depth mismatch" errors).
WORKERS = int(os.environ.get("FUZZ_WORKERS", "1"))
PARALLEL = int(os.environ.get("FUZZ_PARALLEL", str(os.cpu_count() or 2)))  # Schemathesis runs at a time
LARGE_RUN = "FUZZ_EXAMPLES" in os.environ  # `make fuzz`: explore new cases each run
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CONFIG = Path(__file__).with_name("schemathesis.toml")
# Who calls each service: admin may do everything; the others are the roles its README table names,
# the customer (own data only) first among them, because that is where hostile input comes from.
ROLES = {
    "intake": (Role.admin, Role.customer, Role.agent),
    "dispatch": (Role.admin, Role.dispatcher, Role.technician),
    "feedback": (Role.admin, Role.customer, Role.agent),
    "analytics": (Role.admin, Role.analyst),
}
TARGETS = [(service, role) for service, roles in ROLES.items() for role in roles]

pytestmark = [pytest.mark.fuzz, pytest.mark.postgres, pytest.mark.kafka]


Key = tuple[str, Role]


@dataclass(frozen=True)
class Run:
    returncode: int
    output: str


def build_app(service: str, settings_for: Callable[..., Any], topic_prefix: str) -> Any:
    """The service's real app, as its entry point builds it, on its own schema and the shared topics."""
    if service == "intake":
        from services.intake.bootstrap import bootstrap
        from services.intake.settings import IntakeSettings as Settings
    elif service == "dispatch":
        from services.dispatch.bootstrap import bootstrap
        from services.dispatch.settings import DispatchSettings as Settings
    elif service == "feedback":
        from services.feedback.bootstrap import bootstrap
        from services.feedback.settings import FeedbackSettings as Settings
    else:
        from services.analytics.bootstrap import bootstrap
        from services.analytics.settings import AnalyticsSettings as Settings
    return bootstrap(settings_for(service, Settings, topic_prefix=topic_prefix))


@pytest.fixture(scope="module")
def runs(request: pytest.FixtureRequest, settings_for) -> Iterator[dict[Key, Future[Run]]]:  # noqa: ANN001
    """Starts the services the selected tests need, then runs Schemathesis for every selected target,
    PARALLEL at a time: the CLI's case generation is CPU-bound and each run is a process of its own."""
    selected = [item.callspec.params["key"] for item in request.session.items
                if item.module is request.module and hasattr(item, "callspec")]
    topic_prefix = f"fz{uuid.uuid4().hex[:8]}."
    with contextlib.ExitStack() as stack:
        urls = {service: stack.enter_context(ThreadedService(build_app(service, settings_for, topic_prefix)))
                for service in dict.fromkeys(service for service, _ in selected)}
        pool = stack.enter_context(ThreadPoolExecutor(PARALLEL))
        yield {(service, role): pool.submit(schemathesis_run, urls[service], role, report_dir(service, role))
               for service, role in selected}
        pool.shutdown(cancel_futures=True)  # before the services stop (the stack unwinds in reverse)


def report_dir(service: str, role: Role) -> Path:
    # The whole report is kept (var/ is ignored by git) for triage: an assertion shows only its end.
    path = ROOT / "var" / "fuzz" / f"{service}-{role.value}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def schemathesis_run(url: str, role: Role, out: Path) -> Run:
    token = as_role(role, f"fuzz-{role.value}")["Authorization"]
    command = [
        # Every check (enabled there), and the few operations where one cannot hold, with the reason.
        str(SCHEMATHESIS), "--config-file", str(CONFIG), "run", f"{url}/openapi.json",
        "--header", f"Authorization: {token}",
        "--max-examples", str(EXAMPLES),
        "--workers", str(WORKERS),
        "--request-timeout", "30",
        "--suppress-health-check", "all",
        "--report", "junit", "--report-dir", str(out),
        "--no-color",
    ]
    if not LARGE_RUN:
        command += ["--generation-deterministic"]  # derandomized (and so no example database)
    else:
        command += ["--generation-database", "none"]  # each fuzz run starts fresh
    # Run where the report goes: the CLI keeps a cache of past crashes (replayed first) in its cwd.
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False, cwd=out)
    (out / "output.txt").write_text(result.stdout + result.stderr)
    return Run(result.returncode, result.stdout + result.stderr)


@pytest.mark.parametrize("key", TARGETS, ids=[f"{s}-{r.value}" for s, r in TARGETS])
def test_no_server_error_and_no_schema_violation(key: Key, runs: dict[Key, Future[Run]]) -> None:
    run = runs[key].result()
    # The CLI's own report: each failing operation, the check that failed, and a curl to reproduce it.
    assert run.returncode == 0, f"{key[0]} as {key[1].value}:\n{run.output[-60000:]}"
