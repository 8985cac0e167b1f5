from shared.eventstore.store import ConcurrencyError, EventStore
from shared.eventstore.writer import GroupCommitAppender

__all__ = ["ConcurrencyError", "EventStore", "GroupCommitAppender"]
