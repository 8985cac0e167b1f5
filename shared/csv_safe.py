"""CSV that a spreadsheet opens as data, never as formulas: every CSV the project writes goes through here.

A spreadsheet evaluates a cell that starts with `=`, `+`, `-` or `@` (and some strip a leading tab or
CR first), so a resource named `=HYPERLINK("http://evil","click")` in an export would become a live
link, or worse, on an analyst's desktop. OWASP's rule is applied: such a cell gets a leading single
quote, which spreadsheets take as "this is text" and do not show; quoting of commas and double quotes
is left to the csv module, which already does it right.

Only strings are neutralised. Numbers (negative ones included) are the reports' own figures, not text
a client typed; `-3` written from an int must stay a number the analyst can sum, and an int cannot
carry a formula. A *string* that happens to read `-3` is a client's text and gets the quote: telling
such strings apart from formulas (`-3+cmd|...`) is exactly the guess OWASP's rule avoids.
"""
from __future__ import annotations

import csv
import io
from typing import Any, Iterable, Mapping, Sequence

# OWASP "CSV Injection": the characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """The value as it may go into a CSV cell: a formula-like string gets a leading `'`."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def rows_to_csv(rows: Sequence[Mapping[str, Any]], columns: Iterable[str] | None = None) -> str:
    """Dict rows as CSV text: a header (the given columns, else every key in first-seen order), then one
    line per row; a missing value is an empty cell. Header cells are neutralised too, because some
    column names are built from data (e.g. the forecast's `expected.<category>`)."""
    if columns is None:
        seen: dict[str, None] = {}
        for row in rows:
            seen.update(dict.fromkeys(row))
        columns = seen
    names = list(columns)
    out = io.StringIO()
    # CRLF, as RFC 4180 has it, also makes the csv module quote a cell holding a lone CR: with "\n" it
    # wrote such a cell bare, and a reader that ends lines at CR split the row there.
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(name) for name in names])
    writer.writerows([safe_cell(row.get(name)) for name in names] for row in rows)
    return out.getvalue()
