"""The short chaos run in `make test`: each service SIGKILLed once under load; `make chaos` runs all."""
from __future__ import annotations

import pytest

from tests.chaos.__main__ import SHORT, run

pytestmark = [pytest.mark.postgres, pytest.mark.kafka, pytest.mark.e2e]


@pytest.mark.parametrize("scenario", SHORT, ids=lambda s: s.name)
async def test_nothing_is_lost_or_applied_twice(scenario):  # noqa: ANN001
    outcome = await run(scenario)
    assert outcome.requests > 0 and outcome.verdict.events > 0 and outcome.recovery_s < float("inf")
    assert outcome.verdict.lost == {k: 0 for k in outcome.verdict.lost}
    assert outcome.verdict.duplicated == {k: 0 for k in outcome.verdict.duplicated}
