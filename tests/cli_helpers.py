"""Running the CLI in-process from tests."""

import json

from typer.testing import CliRunner

from computeplan.cli import app


def run_json(*args):
    """Run ``computeplan ARGS --json``, require exit status 0 and return the parsed JSON."""
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)
