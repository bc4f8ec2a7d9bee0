"""Numbers written as text: CLI option values, CSV cells, YAML strings, form fields and query
strings read one way everywhere.

Python's ``float`` (and pydantic, in its lax mode) also reads underscores between digits
(``'2_0'`` is 20) and digits of other scripts (``'２'`` is 2): a typo then passes as a
different number. Here a number is ASCII digits with an optional point and exponent, or
``inf``/``infinity``/``nan`` (the range checks refuse those where a finite number is needed;
``--unique-tokens inf`` is no data limit); spaces around it are allowed.
"""

from __future__ import annotations

import math
import re

NUMBER = re.compile(r"\s*[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?|inf(?:inity)?|nan)\s*",
                    re.IGNORECASE | re.ASCII)

#: How a number is written, for the messages that refuse one.
NUMBER_FORM = "digits with an optional point and exponent, e.g. 2, 0.5 or 1.5e21"
WHOLE_FORM = "digits, e.g. 0, 3 or 1000"


def parse_number(text: str) -> float | None:
    """``text`` as a float, or None unless it is a number as :data:`NUMBER` spells one."""
    return float(text) if NUMBER.fullmatch(text) else None


def parse_whole(text: str) -> int | None:
    """``text`` as an int, or None unless it is a whole number as written (``3``, ``3.0``,
    ``1e3``; not ``3.5``, nor ``4503599627370496.5``, which rounds to a whole float), within
    float range."""
    x = parse_number(text)
    if x is None or not math.isfinite(x):
        return None
    from decimal import Decimal  # exact: 3.5 is not whole however many digits precede it

    exact = Decimal(text.strip())
    return int(exact) if exact == exact.to_integral_value() else None


def not_a_number(text: str) -> str:
    """The message refusing ``text`` as a number."""
    return f"{text!r} is not a number; write {NUMBER_FORM}"


def not_whole(text: str) -> str:
    """The message refusing ``text`` as a whole number."""
    return f"{text!r} is not a whole number; write {WHOLE_FORM}"
