"""The one rule for categories ("fault > equipment > printer"), for every service that filters by them.

A category is a path of names from the root. Two spellings of a path are the same category when
they differ only in case and in the spaces around each name ("FAULT>Equipment > printer" is
"fault > equipment > printer"). A category filter keeps the whole branch it names: the category
itself and every category below it ("fault > equipment" keeps "fault > equipment > printer", never
"fault > equipmentx"). Intake's search (in SQL) and every analytics report (over its columns) use
this module, so the same filter keeps the same requests everywhere.
"""
from __future__ import annotations

SEPARATOR = " > "


def normalise(path: str) -> str:
    """The canonical spelling of a category path: lower case, names trimmed, one " > " between them."""
    return SEPARATOR.join(name.strip().lower() for name in path.split(">"))


def in_branch(category: str | None, branch: str) -> bool:
    """Whether `category` is `branch` or lies below it, whatever the spelling of either."""
    if category is None:
        return False
    category, branch = normalise(category), normalise(branch)
    return category == branch or category.startswith(branch + SEPARATOR)


def sql_in_branch(column: str, branch: str, params: list[object]) -> str:
    """The same rule as a SQL condition on `column`, which must hold canonical paths (intake
    stores them so: it resolves every category through its tree before recording it). Appends
    the condition's parameters to `params` and refers to them by number, as asyncpg does.

    A plain comparison and a LIKE prefix, not lower() of the column: an index on the column stays
    usable. LIKE's wildcards in a configured name ("on_site") are escaped, so they match themselves.
    """
    canonical = normalise(branch)
    escaped = canonical.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    params += [canonical, escaped + SEPARATOR + "%"]
    return f"({column} = ${len(params) - 1} OR {column} LIKE ${len(params)})"
