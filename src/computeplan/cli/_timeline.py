"""Terminal tables of a dated plan (:class:`~computeplan.timeline.DatedComparison`)."""

from __future__ import annotations


def render(console, dated) -> None:
    """The present-value table, the per-year spend table and the timeline line."""
    from ..render import table
    from ..render_timeline import describe, per_year_rows, present_value_rows

    for t in (present_value_rows(dated), per_year_rows(dated)):
        console.print(table(t.title, t.head, t.rows, caption=t.caption))
    console.print(describe(dated.timeline), highlight=False, soft_wrap=True)
