"""Settings refuse combinations that cannot work."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.settings import Settings


def test_a_pool_too_small_for_the_writers_that_keep_connections_is_refused() -> None:
    with pytest.raises(ValidationError, match="DB_POOL_SIZE"):
        Settings(db_pool_size=4, append_writers=2)
    assert Settings(db_pool_size=5, append_writers=2).db_pool_size == 5
