"""Numbers as text: one spelling for the CLI, CSV cells, YAML strings and the web's text."""

import math

from hypothesis import given
from hypothesis import strategies as st

from computeplan.numbertext import parse_number, parse_whole


@given(st.floats(allow_nan=False) | st.integers(-10**30, 10**30))
def test_every_number_python_writes_reads_back(x):
    """repr of a float or int (what a program writes: 1e+21, -0.5, inf) reads back exactly."""
    assert parse_number(repr(x)) == float(x)
    assert parse_number(f" {x!r}\n") == float(x)  # spaces around it, as float allows


@given(st.text(max_size=12))
def test_what_is_read_is_what_float_reads(text):
    """Never another number than Python's float gives, and never from text with an
    underscore or a digit outside 0-9 (float reads '2_0' as 20 and '２' as 2)."""
    x = parse_number(text)
    if x is not None:
        assert math.isnan(x) if math.isnan(float(text)) else x == float(text)
        assert "_" not in text and all(c.isascii() for c in text if c.isdigit())


@given(st.integers(0, 10**6), st.integers(0, 10**6))
def test_underscores_are_refused(a, b):
    assert parse_number(f"{a}_{b}") is None and parse_whole(f"{a}_{b}") is None


@given(st.integers(-10**20, 10**20))
def test_whole_numbers(n):
    assert parse_whole(str(n)) == n and parse_whole(f"{n}.0") == n
    assert parse_whole(f"{n}.5") is None


def test_non_finite_and_malformed():
    assert parse_whole("inf") is None and parse_whole("nan") is None
    assert math.isinf(parse_number("-Infinity")) and math.isnan(parse_number("NaN"))
    for text in ("", " ", "1e", "e3", "0x10", "1,5", "2..0", "--1", "1 2", "inff"):
        assert parse_number(text) is None, text
    assert parse_whole("1e3") == 1000 and parse_whole("3") == 3
