"""Command-line interface: parses, calls the numerical core, renders. No numerics here."""

from . import fit, hardware, model, plan, tradeoff, web  # noqa: F401  (each registers commands)
from .app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
