"""The CSV checks of every reader (envq.sources.csvfile): the vectorised path agrees with Python's
csv module on every file, and the rules read as documented."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envq.errors import InputError
from envq.sources import csvfile
from envq.sources.csvfile import MAX_FIELD_CHARS, check_csv, normalise_newlines


def outcome(check, text, names):
    try:
        return ("rows", check("f.csv", text, names))
    except InputError as exc:
        return ("error", exc.row, exc.field, exc.problem)


cells = st.text(alphabet="0123456789.-长沙xNA ", max_size=6)


@st.composite
def tables(draw):
    n = draw(st.integers(1, 5))
    names = [f"c{i}" for i in range(n)]
    rows = draw(st.lists(st.lists(cells, min_size=0, max_size=n + 2), max_size=8))
    body = "\n".join([",".join(names)] + [",".join(r) for r in rows])
    return names, body + draw(st.sampled_from(["", "\n", "\n\n"]))


@settings(max_examples=300, deadline=None)
@given(tables())
def test_vectorised_and_csv_module_agree(table):
    names, text = table
    assert outcome(csvfile._check_rows_plain, text, names) == outcome(csvfile._check_rows_quoted, text, names)


@pytest.mark.parametrize("text, rows", [
    ("a,b\n1,2\n3,4", 2),            # no final line break, whole last row: the CNEMC archive writes these
    ("a,b\n1,2\n\n3,4\n\n", 2),      # blank lines are not rows
    ("a,b\n,\n1,2\n", 2),            # a row of empty cells is a row (the readers drop it)
])
def test_rows_counted(text, rows):
    assert csvfile._check_rows_plain("f.csv", text, ["a", "b"]) == rows


def test_cut_last_row_says_so():
    with pytest.raises(InputError, match="it lacks b, c; the file ends in this row without a line break") as info:
        check_csv("f.csv", "a,b,c\n1,2,3\n4")
    assert (info.value.row, info.value.field) == (3, "b")


def test_long_field_is_named_with_its_column():
    with pytest.raises(InputError, match=f"more than the {MAX_FIELD_CHARS:,} envq accepts") as info:
        check_csv("f.csv", "a,b,c\n1,2,3\n4," + "5" * 2000 + ",6\n")
    assert (info.value.row, info.value.field) == (3, "b")
    long_cjk = "长" * (MAX_FIELD_CHARS - 1)  # 2,997 bytes but 999 characters: accepted
    assert check_csv("f.csv", f"a,b\n1,{long_cjk}\n") == ["a", "b"]


def test_newlines_normalised():
    assert normalise_newlines("a\r\nb\rc\n") == "a\nb\nc\n"
