"""Command-line interface: parses, calls the numerical core, renders. No numerics here."""

import errno
import importlib
import os
import sys

from .app import app

#: Each command and the module of this package that registers it, in the order --help lists
#: them (they register in this order): plan, the main job, first.
COMMAND_MODULES = {
    "plan": "plan", "model": "model", "fit": "fit", "gpus": "hardware", "train": "hardware",
    "serve": "hardware", "sweep": "sweep", "tradeoff": "tradeoff", "allocate": "tradeoff",
    "overhead": "tradeoff", "web": "web", "report": "web",
}


def load_commands(names=None) -> None:
    """Import the modules that register the commands ``names`` (every command when None)."""
    wanted = COMMAND_MODULES if names is None else names
    for module in dict.fromkeys(COMMAND_MODULES[n] for n in wanted):
        importlib.import_module(f".{module}", __name__)


#: Typer reads the command list to run or test ``app``: every command registers then.
app.load_commands = load_commands

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
    # The command named on the command line alone is registered (start-up time: the others'
    # modules import numerics for their defaults); --help and unknown names list them all.
    args = sys.argv[1:]
    if args and args[0] in COMMAND_MODULES:
        app.load_commands = None
        load_commands([args[0]])
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
