"""Property test against the OpenAPI schema: no generated request produces a server error (5xx),
and every answer has a documented status code and matches its documented schema.

Schemathesis generates valid and invalid requests for every operation of ``/openapi.json`` (the
command endpoints, the report page and the metadata) and calls the app in process. Bounded: 40
examples per operation (about half a minute on 2 cores); COMPUTEPLAN_WEB_EXAMPLES=300 for a
longer hunt.
"""

import os
import warnings

import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed")
schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    response_schema_conformance,
    status_code_conformance,
)

from computeplan.web import create_app  # noqa: E402
from computeplan.web.guard import DEFAULT_MAX_REQUEST_SECONDS  # noqa: E402

#: Examples per operation (each is one in-process request); raise it for a longer hunt.
MAX_EXAMPLES = int(os.environ.get("COMPUTEPLAN_WEB_EXAMPLES", "40"))

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_no_input_gives_a_server_error_or_breaks_the_schema(case):
    # What is checked is the answer, not its speed: a report can take longer than
    # schemathesis's 10 s default on a loaded machine, so the client waits past the server's
    # own bound on slow work (--max-request-seconds, 60 s by default, answered 503).
    case.call_and_validate(checks=[not_a_server_error, status_code_conformance,
                                   response_schema_conformance],
                           timeout=2 * DEFAULT_MAX_REQUEST_SECONDS)
