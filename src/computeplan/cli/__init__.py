"""Command-line interface: parses, calls the numerical core, renders. No numerics here."""

from . import fit, hardware, model, plan, sweep, tradeoff, web  # noqa: F401  (register commands)
from .app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
