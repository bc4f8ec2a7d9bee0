"""Matplotlib figures, one module per topic. Import lazily: matplotlib is an optional extra."""

from __future__ import annotations

from pathlib import Path


def pyplot():
    """matplotlib.pyplot with the non-interactive Agg backend; a clear error if not installed."""
    try:
        import matplotlib
    except ImportError:
        from ..errors import InputError

        raise InputError("plotting needs matplotlib: pip install 'computeplan[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, path: str | Path, *, dpi: int = 120) -> Path:
    """Write ``fig`` to ``path`` as PNG and close it; a path that cannot be written (missing
    directory, no permission) is an :class:`InputError` naming ``--plot``."""
    from ..errors import InputError

    out = Path(path)
    try:
        fig.savefig(out, format="png", dpi=dpi)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise InputError(f"--plot: cannot write {str(out)!r}: {reason}") from None
    finally:
        pyplot().close(fig)
    return out
