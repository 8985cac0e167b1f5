"""The one category rule (shared/categories.py) that intake's search and analytics' reports apply."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.intake.domain.categories import CategoryTree
from shared.categories import in_branch, normalise, sql_in_branch


@pytest.mark.parametrize("spelling", ["fault > equipment > printer", "FAULT > Equipment > printer",
                                      " fault>equipment >PRINTER ", "Fault >  Equipment  > Printer"])
def test_spellings_differing_in_case_and_spacing_are_one_category(spelling):
    assert normalise(spelling) == "fault > equipment > printer"


@pytest.mark.parametrize("category, branch, inside", [
    ("fault > equipment > printer", "fault > equipment", True),
    ("fault > equipment > printer", "FAULT > Equipment > printer", True),
    ("fault > equipment", "fault > equipment", True),
    ("fault > equipment", "fault", True),
    ("fault > equipmentx", "fault > equipment", False),  # a prefix of a name is not a branch
    ("fault > equipment", "fault > equipment > printer", False),  # the parent is not in the child's branch
    ("Fault > Network > VPN", "fault>network", True),  # older spellings in an archive still match
    (None, "fault", False),
])
def test_a_branch_holds_its_category_and_everything_below_it(category, branch, inside):
    assert in_branch(category, branch) is inside


names = st.text(st.characters(codec="ascii", exclude_characters=">"), min_size=1, max_size=8).filter(str.strip)


@given(st.lists(names, min_size=1, max_size=4), st.lists(names, min_size=1, max_size=4))
def test_in_branch_is_the_path_prefix_rule_on_canonical_names(category, branch):
    parts = [c.strip().lower() for c in category]
    want = [b.strip().lower() for b in branch] == parts[:len(branch)]
    assert in_branch(" > ".join(category), ">".join(branch)) is want


def test_intakes_tree_resolves_by_the_same_rule():
    tree = CategoryTree()
    assert tree.resolve("FAULT>Equipment > printer") == normalise("FAULT>Equipment > printer")
    assert CategoryTree.within("fault > equipment > printer", "fault > equipment")


def test_the_sql_condition_takes_the_canonical_branch_and_escapes_like_wildcards():
    params: list[object] = ["earlier"]
    clause = sql_in_branch("category", "Rooms > ON_site%", params)
    assert clause == "(category = $2 OR category LIKE $3)"
    assert params == ["earlier", "rooms > on_site%", "rooms > on\\_site\\% > %"]
