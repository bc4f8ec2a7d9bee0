"""The one exception type for user-facing problems.

Every invalid, infeasible or nonsensical input raises :class:`InputError` with a one-line message
that names the argument, the offending value and the valid range. The CLI turns it into exit
status 2; the web API into HTTP 422. Library code never returns NaN for bad input.
"""

from __future__ import annotations


class InputError(ValueError):
    """An input is invalid, infeasible or out of range.

    The message is a single line naming the argument, the bad value and the valid range,
    e.g. ``loss must be > E = 1.69 (the irreducible loss); got 1.5``.
    """


class ConvergenceError(RuntimeError):
    """A numerical solver did not reach its tolerance (a bug or an extreme input, never silent)."""


#: What a shell (CLI, web) reports as a user's problem: a one-line message, exit 2 / HTTP 422.
#: ``OverflowError`` is here because extreme (but finite) inputs can overflow Python floats.
USER_ERRORS: tuple[type[Exception], ...] = (InputError, ConvergenceError, OverflowError)
