"""The one number formatter (computeplan.render) of tables, the HTML report and the web page:
readable quantities with 4 significant digits, JSON untouched."""

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from computeplan.errors import InputError
from computeplan.render import (
    count,
    flops,
    fmt,
    integer,
    jsonable,
    kind,
    pct,
    quantity,
    ratio,
    table,
    usd,
    whole,
)

SUFFIX = {"": 1.0, "k": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}


def parse(text: str) -> float:
    """A formatted number back to a float: ``$85.83k`` -> 85830, ``5,939x`` -> 5939."""
    m = re.fullmatch(r"(-?)\$?([0-9.,]+(?:e-?\d+)?)([kMBT]?)x?", text)
    assert m, text
    return float(m[1] + m[2].replace(",", "")) * SUFFIX[m[3]]


@pytest.mark.parametrize(("f", "x", "text"), [
    (count, 3.408e10, "34.08B"), (count, 1.810e12, "1.81T"), (count, 2048, "2,048"),
    (count, 2.418e10, "24.18B"), (count, 2.657e12, "2.657T"), (count, 109.87, "109.9"),
    (count, 999.96e9, "1T"), (count, 1e16, "1.000e16"), (count, 0.5, "0.5"),
    (usd, 85830, "$85.83k"), (usd, 0.6, "$0.60"), (usd, 175.01, "$175.01"),
    (usd, 1.606e6, "$1.606M"), (usd, 2048.3, "$2,048"),
    (flops, 3.7e23, "3.700e23"), (flops, 2.801e23, "2.801e23"),
    (ratio, 0.7096, "70.96%"), (ratio, 1.8241, "182.41%"), (ratio, 5938.5608, "5,939x"),
    (ratio, 12.345, "12.35x"), (integer, 5.0, "5"), (integer, 1024.0, "1,024"),
])
def test_published_style_examples(f, x, text):
    assert f(x) == text


@given(st.floats(1.0, 1e15))
def test_counts_keep_four_significant_digits(x):
    text = count(x)
    assert parse(text) == pytest.approx(x, rel=5.001e-4)
    assert "e" not in text or x >= 999.95e12


@given(st.floats(0.01, 1e14))
def test_dollars_read_back_within_their_precision(x):
    text = usd(x)
    assert text.startswith("$")
    # Cents below $1,000 (an absolute half cent), else 4 significant digits.
    assert parse(text) == pytest.approx(x, rel=5.001e-4, abs=0.005)


@given(st.floats(1e-3, 1e9))
def test_ratios_are_percentages_below_ten_and_multiples_above(x):
    text = ratio(x)
    assert text.endswith("%") == (x < 10)
    value = float(text[:-1]) / 100 if text.endswith("%") else parse(text)
    assert value == pytest.approx(x, rel=5.001e-4, abs=5e-5)
    assert len(text) <= 10  # never 593856.08%


@given(st.integers(0, 10**12))
def test_integers_are_never_fractional(n):
    assert integer(float(n)) == f"{n:,}"


def test_arrays_format_element_by_element_and_none_is_a_dash():
    assert count(np.array([1e9, 2.5e9])) == "1B, 2.5B"
    assert usd(None) == "-" and fmt("text") == "text"


@pytest.mark.parametrize(("key", "expected"), [
    ("params", "count"), ("optimal.params", "count"), ("train_tokens", "count"),
    ("inference_tokens", "count"), ("tokens_per_param", "count"), ("requests", "count"),
    ("total_cost_usd", "usd"), ("train_usd_per_gpu_hour", "usd"), ("train_flops", "flops"),
    ("budget_flops", "flops"), ("gpus", "integer"), ("heads", "integer"), ("loss", "number"),
    ("train_mfu", "number"), ("ratios.total_flops", "ratio"), ("ratio_total_cost_usd", "ratio"),
])
def test_field_names_choose_the_format(key, expected):
    assert kind(key) == expected


def test_quantity_follows_the_field_name():
    assert quantity("params", 2.418e10) == "24.18B"
    assert quantity("total_cost_usd", 85830.0) == "$85.83k"
    assert quantity("total_flops", 3.7e23) == "3.700e23"
    assert quantity("loss", 1.9471234) == "1.9471"
    assert quantity("gpus", 5.0) == "5"
    assert quantity("ratios.total_flops", 0.9522) == "95.22%"


def test_json_keeps_full_precision_and_whole_counts_become_ints():
    assert jsonable({"params": np.float64(2.4178123456e10)}) == {"params": 2.4178123456e10}
    assert jsonable({"gpus": whole(np.float64(5.0))}) == {"gpus": 5}
    assert type(jsonable(whole(np.array([1.0, 8.0])))[0]) is int
    assert jsonable(whole(np.float64(2.5))) == 2.5  # not whole: unchanged


def test_table_title_and_caption_wrap_between_words_at_100_columns():
    from rich.console import Console

    title = "A title " + " ".join(["longword"] * 20)
    caption = "caption " + " ".join(["anotherword"] * 20)
    console = Console(record=True, width=100)
    console.print(table(title, ["", "value"], [["x", "1"]], caption=caption))
    lines = console.export_text().splitlines()
    words = set(title.split()) | set(caption.split())
    prose = [line for line in lines if not set(line) & set("┃│┏┗┡└━─")]
    assert len(prose) >= 4  # both wrapped, onto whole lines of their own
    for line in prose:
        assert set(line.split()) <= words, line  # every piece is a whole word
        assert len(line) <= 100


@pytest.mark.parametrize("f", [fmt, count, integer, usd, flops, pct, ratio])
@pytest.mark.parametrize("x", [float("inf"), float("-inf"), float("nan")])
def test_tables_never_show_inf_or_nan(f, x):
    """A non-finite number in a table is an InputError (the JSON refuses it too), never the text
    ``inf``, ``inf%`` or ``nan`` (issue 16)."""
    with pytest.raises(InputError, match="not finite"):
        f(x)
    with pytest.raises(InputError, match="not finite"):
        f(np.array([1.0, x]))


def test_percentages_of_the_largest_floats_are_finite_text():
    """100 x overflows for x near the top of double precision: the exponent is shifted."""
    assert pct(1e308) == "1.000e310%"
    assert pct(-1.7e308) == "-1.700e310%"
    assert pct(1e300) == "1.000e302%"


# ------------------------------------------- the fast formatter is the exact half-up rounding
#: Doubles of every kind: any finite float, short decimals (1.947, 2.5e-3) and dyadic numbers
#: (k / 2^j: 0.125, 2.5), whose exact decimal expansion can end on a tie.
NUMBERS = (st.floats(allow_nan=False, allow_infinity=False)
           | st.builds(lambda m, e: float(f"{m}e{e}"), st.integers(-99999, 99999),
                       st.integers(-12, 20))
           | st.builds(lambda k, j: k * 2.0**-j, st.integers(-10**9, 10**9), st.integers(0, 40)))


@given(NUMBERS, st.integers(1, 7))
def test_rounding_equals_exact_decimal_half_up(x, digits):
    """``_sci``/``_fixed`` (Python's correctly rounded formatting, the exact path at ties) give
    the text of exact decimal arithmetic rounding half up, as JavaScript does."""
    from computeplan import render

    if x != 0:
        assert render._sci(x, digits) == render._sci_exact(x, digits)
    for decimals in range(7):
        assert render._fixed(x, decimals) == render._fixed_exact(x, decimals)


def test_ties_round_half_away_from_zero():
    from computeplan import render

    assert render._sci(0.125, 2) == ("1.3", -1) and render._sci(-2.5, 1) == ("-3", 0)
    assert render._fixed(0.125, 2) == "0.13" and render._fixed(-2.5, 0) == "-3"
    assert render._fixed(1234.5, 0) == "1235" and render._fixed(-0.0, 2) == "0.00"


@given(st.floats(1e3, 1e15) | st.floats(-1e15, -1e3), st.integers(1, 6))
def test_si_suffix_moves_the_decimal_point_of_the_rounded_mantissa(x, digits):
    """``_si`` equals re-reading the rounded mantissa as a float and printing it with the
    decimals it has (what it did before)."""
    from computeplan import render

    m, e = render._sci(x, digits)
    if not 3 <= e < 15:
        return
    power, suffix = next((p, u) for p, u in render._SI if e >= p)
    assert render._si(m, e) == render._plain(float(f"{m}e{e - power}"), digits,
                                             e - power) + suffix


@pytest.mark.parametrize("f", [fmt, count, integer, usd, flops, pct, ratio])
@given(x=NUMBERS)
def test_formatters_equal_their_exact_decimal_versions(f, x):
    from computeplan import render

    fast = f(x)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(render, "_sci", render._sci_exact)
        mp.setattr(render, "_fixed", render._fixed_exact)
        assert f(x) == fast
