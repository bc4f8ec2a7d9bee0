"""Command-line interface: parses, calls the numerical core, renders. No numerics here."""

# isort: off
# Commands are listed in --help in the order they register: plan, the main job, first.
from . import plan  # noqa: F401
from . import model, fit, hardware, sweep, tradeoff, web  # noqa: F401  (register commands)
# isort: on
from .app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
