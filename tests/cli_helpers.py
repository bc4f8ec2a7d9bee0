"""Running the CLI in-process from tests."""

import json
import re

from typer.testing import CliRunner

from computeplan.cli import app


def run_json(*args):
    """Run ``computeplan ARGS --json``, require exit status 0 and return the parsed JSON."""
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


_FLAG = re.compile(r"--([A-Za-z][A-Za-z0-9-]*)")


def web_spelled(data):
    """CLI JSON with options named as the web API names them (``--input-tokens`` ->
    ``input_tokens``): notes and messages name options in the spelling of the shell."""
    if isinstance(data, str):
        return _FLAG.sub(lambda m: m.group(1).replace("-", "_"), data)
    if isinstance(data, dict):
        return {k: web_spelled(v) for k, v in data.items()}
    if isinstance(data, list):
        return [web_spelled(v) for v in data]
    return data
