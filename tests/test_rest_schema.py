"""A bounded schemathesis run over the REST API's OpenAPI schema: no server error, no violation.

A fixed number of examples per route, generated from the schema at
``/openapi.json``, sent to the REST app (in process, over ASGI) with its own job
store and low limits; every answer must be no 5xx and must conform to the
schema (status codes, content types, error bodies).
"""

from __future__ import annotations

from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from pipeline.jobs import JobStore  # noqa: E402
from ui.rest import build_rest_app  # noqa: E402
from ui.settings import Settings  # noqa: E402

#: Examples per route: enough to reach each field's odd values, few enough for CI.
EXAMPLES = 5
#: Routes left out: each valid request measures for seconds (their refusals are
#: tested in test_rest_limits.py and test_benchmark_app.py).
SLOW_ROUTES = r"^/benchmark/(profile|hardware)$"
CHECKS = (
    not_a_server_error, status_code_conformance, content_type_conformance,
    response_schema_conformance,
)  # fmt: skip


@pytest.fixture(scope="module")
def rest_app(tmp_path_factory: pytest.TempPathFactory):
    folder: Path = tmp_path_factory.mktemp("schema-jobs")
    limits = Settings(output_dir=folder, max_upload_mb=1, max_benchmark_rows=2)
    store = JobStore(folder, devices=1, max_queued=1, sweep_interval_s=None)
    yield build_rest_app(limits, store)
    store.close()


schema = schemathesis.pytest.from_fixture("rest_schema").exclude(path_regex=SLOW_ROUTES)


@pytest.fixture(scope="module")
def rest_schema(rest_app):
    return schemathesis.openapi.from_asgi("/openapi.json", rest_app)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES, deadline=None, derandomize=True,
    suppress_health_check=list(HealthCheck),
)  # fmt: skip
def test_the_rest_schema_holds_for_generated_requests(case) -> None:
    case.call_and_validate(checks=CHECKS)
