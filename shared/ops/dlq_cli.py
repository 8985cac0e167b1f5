"""`servicetrail dlq list|show|retry|discard`: every consumer's dead letters on the broker, and
what was done with each (kept in DATABASE_URL's OPS_SCHEMA)."""
from __future__ import annotations

import getpass
from typing import Any, Awaitable, Callable

import typer

from shared.db import Database
from shared.errors import DomainError
from shared.ops.dlq import DeadLetter, DeadLetters
from shared.ops.tail import Seen
from shared.ops.terminal import JSON, T, console, emit, fail, on_database, print_table, run
from shared.settings import Settings

dlq_app = typer.Typer(no_args_is_help=True, help="Dead letters: list, show, retry, discard")


async def _dead_letters(use: Callable[[DeadLetters], Awaitable[T]]) -> T:
    async def with_letters(db: Database) -> T:
        letters = DeadLetters(Settings(), db)
        await letters.prepare()
        return await use(letters)

    return await on_database(with_letters, "what was done with each dead letter is kept there")


def _summary(d: DeadLetter) -> dict[str, Any]:
    event = d.envelope()
    return {"id": d.id, "consumer": d.consumer, "from": f"{d.topic}/{d.origin_partition}@{d.origin_offset}",
            "event": getattr(event, "name", None), "subject": getattr(event, "subject", None),
            "event_id": getattr(event, "id", None), "attempts": d.attempts, "error": d.error,
            "dead_lettered_at": d.at.isoformat(), "status": d.status, "handled_by": d.handled_by,
            "handled_at": d.handled_at.isoformat() if d.handled_at else None, "reason": d.reason}


@dlq_app.command("list")
def dlq_list(
    consumer: str = typer.Option(None, "--consumer", help="one consumer's (its group name)"),
    all_: bool = typer.Option(False, "--all", help="retried and discarded ones too"),
    as_json: bool = JSON,
) -> None:
    """Dead letters still to be dealt with (every one with --all): where each came from and why."""
    letters = run(lambda: _dead_letters(lambda q: q.list(consumer, handled=all_)))
    rows = [_summary(d) for d in letters]
    if as_json:
        return emit(rows)
    columns = ("id", "from", "event", "subject", "attempts", "dead-lettered", *(("status",) if all_ else ()), "error")
    print_table(f"{len(rows)} dead letter{'s' * (len(rows) != 1)}{'' if all_ else ' pending'}", columns, [
        (r["id"], r["from"], r["event"] or "(not an event)", r["subject"] or "", str(r["attempts"]),
         r["dead_lettered_at"][:19], *((r["status"],) if all_ else ()), r["error"]) for r in rows])


@dlq_app.command("show")
def dlq_show(id_: str = typer.Argument(..., metavar="ID"), as_json: bool = JSON) -> None:
    """One dead letter whole: its origin, error, outcome, and the event (personal values sealed)."""
    letter = run(lambda: _dead_letters(lambda q: q.get(id_)))
    event = letter.envelope()
    shown = {**_summary(letter), "key": (letter.key or b"").decode(errors="replace"),
             "event": Seen(letter.topic, letter.origin_partition, letter.origin_offset, 0, event).as_json()}
    if not hasattr(event, "data"):
        shown["value"] = (letter.value or b"")[:2000].decode(errors="replace")
    if as_json:
        return emit(shown)
    for name, value in shown.items():
        if name != "event" and value is not None:
            console.print(f"[bold]{name:>16}[/]  {value}", highlight=False)
    console.print_json(data=shown["event"], default=str)


@dlq_app.command("retry")
def dlq_retry(
    id_: str = typer.Argument(None, metavar="[ID]"),
    all_: bool = typer.Option(False, "--all", help="every pending one (of --consumer, if given)"),
    consumer: str = typer.Option(None, "--consumer"),
    by: str = typer.Option(getpass.getuser(), help="who retries (recorded)"),
) -> None:
    """Send dead letters back to the consumer that gave up on them; each applies once."""
    if (id_ is None) == (not all_):
        raise fail("name one dead letter, or --all", 2)

    async def retry(q: DeadLetters) -> int:
        letters = await q.list(consumer) if all_ else [await q.get(id_)]
        refused = 0
        for letter in letters:
            try:
                sent = await q.retry(letter, by)
            except DomainError as exc:
                if not all_:
                    raise
                refused += 1
                console.print(f"{letter.id}: not retried: {exc}", highlight=False)
                continue
            console.print(f"{letter.id}: redriven to {letter.consumer} on {letter.topic}" if sent else
                          f"{letter.id}: already retried at {letter.handled_at} by {letter.handled_by}", highlight=False)
        if all_:
            console.print(f"{len(letters) - refused} retried, {refused} not", highlight=False)
        return refused

    if run(lambda: _dead_letters(retry)):
        raise typer.Exit(1)


@dlq_app.command("discard")
def dlq_discard(
    id_: str = typer.Argument(..., metavar="ID"),
    reason: str = typer.Option(..., help="why it will never be applied (recorded)"),
    by: str = typer.Option(getpass.getuser(), help="who discards (recorded)"),
) -> None:
    """Mark a dead letter as dealt with, never to be applied."""

    async def discard(q: DeadLetters) -> tuple[DeadLetter, bool]:
        letter = await q.get(id_)
        return letter, await q.discard(letter, by, reason)

    letter, now = run(lambda: _dead_letters(discard))
    console.print(f"{letter.id}: discarded" if now else f"{letter.id}: already discarded at {letter.handled_at}",
                  highlight=False)
