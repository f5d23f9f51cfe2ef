"""The guard for the whole kind "bad API input" (issue 13, section 6): schemathesis
generates requests from the app's own OpenAPI schema — valid ones and ones that break
it — for every operation of the HR API, sends them with a real token through the real
app, and checks every answer: never 5xx, a status the schema documents, and a body
that matches the documented shape (the problem shape for every 4xx).

Bounded: EXAMPLES valid and EXAMPLES invalid cases per operation (about 600 requests,
a minute or so); Hypothesis is derandomized so CI runs the same cases every time. The
counts are printed: run with `-s` to see them.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from litestar.serialization import decode_json, encode_json
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app import create_app
from intro.people import api_tokens
from intro.tables import Municipality

EXAMPLES = 75
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
COUNTS = {"requests": 0, "server_errors": 0}


def _schema():
    """The schema exactly as /schema/openapi.json serves it."""
    served = decode_json(encode_json(create_app().openapi_schema.to_schema()))
    return schemathesis.openapi.from_dict(served)


SCHEMA = _schema()
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


@pytest.fixture
async def token(demo_client) -> str:
    slagelse = await Municipality.select(Municipality.id).where(Municipality.code == "330").first()
    return await api_tokens.create_token(None, slagelse["id"], "Schemathesis")


@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda m: m.value)
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda o: o.label)
async def test_the_api_answers_as_documented(demo_client, token, operation, mode):
    failures: list[str] = []
    cases = []

    # Hypothesis draws the cases (it runs no async function); they are sent below.
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def collect(case):
        cases.append(case)

    collect()
    for case in cases:
        kwargs = case.as_transport_kwargs(base_url="http://intro.test")
        headers = {**(kwargs.get("headers") or {}), "Authorization": f"Bearer {token}"}
        response = await demo_client.request(
            kwargs["method"], kwargs["url"], headers=headers, params=kwargs.get("params"),
            content=kwargs.get("content"), json=kwargs.get("json"), data=kwargs.get("data"),
        )
        COUNTS["requests"] += 1
        if response.status_code >= 500:
            COUNTS["server_errors"] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except (Exception, BaseExceptionGroup) as failure:  # every failing case, reported at once
            failures.append(f"{case.method} {case.formatted_path} {response.status_code}: {str(failure)[:300]}")

    print(f"\nschemathesis {operation.label} ({mode.value}): {COUNTS['requests']} requests so far, "
          f"{COUNTS['server_errors']} answered 5xx")
    assert not failures, "\n".join(failures[:10])
