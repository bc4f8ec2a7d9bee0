"""HTTP API and one-page calculator over the commands layer (optional extra ``computeplan[web]``).

Every endpoint calls the same :mod:`computeplan.commands` function as the CLI and returns
:func:`computeplan.render.jsonable` of its result: the JSON of ``computeplan <command> --json``.
This package imports FastAPI only in :mod:`.app` (and what it imports), so the report renderer
(:mod:`.report`) works without the web extra.
"""


def create_app(**kwargs):
    """The ASGI application (see :func:`computeplan.web.app.create_app`)."""
    from .app import create_app as _create_app

    return _create_app(**kwargs)


__all__ = ["create_app"]
