"""Machinery every ServiceTrail service shares: envelope, event store, outbox, consumers, runtime."""
