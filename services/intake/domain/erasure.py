"""A customer's erasure, as a fact of its own (stream `customer-<id>`): recorded once however often
it is asked for. The erasing itself is the key store's (shared.shredding): this is its record."""
from __future__ import annotations

from datetime import datetime

from shared.aggregate import Aggregate
from shared.contracts import intake as ev


class Erasure(Aggregate):
    def __init__(self) -> None:
        super().__init__()
        self.customer_id, self.erased_by = "", ""
        self.erased_at: datetime | None = None

    @classmethod
    def of(cls, customer_id: str, by: str, now: datetime) -> "Erasure":
        erasure = cls()
        erasure.record(ev.CustomerErased(customer_id=customer_id, erased_by=by, erased_at=now))
        return erasure

    def when_CustomerErased(self, e: ev.CustomerErased) -> None:
        self.customer_id, self.erased_by, self.erased_at = e.customer_id, e.erased_by, e.erased_at
