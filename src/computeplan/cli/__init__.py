"""Command-line interface: parses, calls the numerical core, renders. No numerics here."""

import errno
import os
import sys

# isort: off
# Commands are listed in --help in the order they register: plan, the main job, first.
from . import plan  # noqa: F401
from . import model, fit, hardware, sweep, tradeoff, web  # noqa: F401  (register commands)
# isort: on
from .app import app

#: Errors writing the output (stdout on a full disk or device, a closed pipe).
_OUTPUT_ERRNOS = {errno.ENOSPC, errno.EIO, errno.EFBIG, errno.EPIPE,
                  getattr(errno, "EDQUOT", errno.ENOSPC)}


def _output_failed(exc: OSError) -> int:
    """Report a failed write to stdout (full disk, ``/dev/full``) as one line, exit status 2;
    the rest of the output goes to the null device so that exiting cannot fail again."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    print(f"error: cannot write the output: {exc.strerror or exc}", file=sys.stderr)
    return 2


def main() -> None:
    """Run the CLI. Text the terminal's encoding cannot show (an ASCII terminal, a name in
    Greek) is escaped instead of raising; a failure writing stdout is a one-line error."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError):
            pass
    try:
        app()
        code = 0
    except SystemExit as done:
        code = done.code
    except OSError as exc:  # commands turn file errors into InputErrors: this is the output
        if exc.errno not in _OUTPUT_ERRNOS:
            raise
        code = _output_failed(exc)
    try:
        sys.stdout.flush()
    except OSError as exc:
        code = _output_failed(exc)
    sys.exit(code)


__all__ = ["app", "main"]
