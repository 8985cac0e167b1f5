"""What an operator reaches for: reading topics as they are, consumer lag, and dead letters
inspected, redriven or discarded (`servicetrail dlq|lag|events`)."""
