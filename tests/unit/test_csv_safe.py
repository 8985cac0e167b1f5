"""OWASP's CSV-injection rule on single cells: formula-like strings get a `'`, numbers stay numbers."""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from shared.csv_safe import rows_to_csv, safe_cell


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("http://x","y")'])
def test_formula_like_strings_are_prefixed_with_a_quote(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["P1", "it > printer", "", " =1", "a=1", "'=1", None, 3, 0.5, date(2026, 3, 2)])
def test_everything_else_is_left_alone(value):
    assert safe_cell(value) == value


@pytest.mark.parametrize("number", [-3, -0.25, -1e9])
def test_negative_numbers_are_numbers_not_text(number):
    assert safe_cell(number) == number
    assert rows_to_csv([{"delta": number}]).splitlines()[1] == str(number)


def test_rows_become_csv_with_the_union_of_keys_and_empty_cells_for_missing_or_none():
    text = rows_to_csv([{"group": "=evil", "n": -2}, {"group": "total", "extra": None, "n": 5}])
    assert text == "group,n,extra\r\n'=evil,-2,\r\ntotal,5,\r\n"


def test_a_carriage_return_inside_a_cell_is_quoted_so_it_cannot_end_the_row():
    text = rows_to_csv([{"a": "x\ry", "b": 1}])
    assert '"x\ry",1\r\n' in text
    assert list(csv.reader(io.StringIO(text, newline="")))[1] == ["x\ry", "1"]


def test_commas_quotes_and_newlines_are_still_quoted_by_the_csv_module():
    text = rows_to_csv([{"name": '=A1,"x"\ny'}])
    assert list(csv.reader(io.StringIO(text)))[1] == ['\'=A1,"x"\ny']


def test_header_cells_built_from_data_are_neutralised():
    assert rows_to_csv([{"-x": 1}], columns=["-x"]).splitlines()[0] == "'-x"
