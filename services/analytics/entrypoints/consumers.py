"""Analytics consumes every service's events into its archive, which its read models fold."""
from __future__ import annotations

from services.analytics.adapters.archive import Archive
from shared.contracts import REGISTRIES, SUBSCRIPTIONS, Reactions

CONSUMER = "analytics"
TOPICS = SUBSCRIPTIONS[CONSUMER]


def archiver(archive: Archive) -> Reactions:
    """Archives every published event, as its contract's current version (see `adapters.archive`).

    A reaction for every contract of every producing service: given Reactions, the consumer runner
    decodes each record by its full ce_type before the transaction, so a record of a type or
    version the contracts do not know is skipped and counted, and one that does not fit its type
    goes to analytics' dead-letter topic at once; neither is ever archived.
    """
    return Reactions({cls: archive.keep for registry in REGISTRIES.values() for cls in registry.classes()})
