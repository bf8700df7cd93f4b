"""The JSON API fuzzed from its own OpenAPI document (接口模糊测试) over a registry with real
data (a delivery, a pending request, a ticket): without a session every operation answers 401,
whatever is sent; with a signed-in reviewer's cookie and CSRF token no answer is a 500 and every
answer conforms to the schema (status codes, bodies, content types)."""

from collections.abc import Callable

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.schemas import BaseSchema

from ycpipelines.console.sessions import COOKIE
from ycpipelines.registry import Registry

from holdings import REVIEWER, Holdings, holdings
from people import sign_in

FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def held(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Holdings:
    return holdings(registry, tmp_path_factory.mktemp("fuzz"))


@pytest.fixture(scope="module")
def api(app: FastAPI, held: Holdings) -> BaseSchema:
    """The API's schema as the app serves it, its operations called in the app (ASGI)."""
    return schemathesis.openapi.from_asgi("/api/openapi.json", app)


@pytest.fixture(scope="module")
def reviewer(app: FastAPI, registry: Registry, held: Holdings) -> dict[str, dict[str, str]]:
    """A signed-in reviewer's cookie and CSRF header."""
    token = sign_in(app, held.people[REVIEWER]).cookies[COOKIE]
    found = registry.console_session(token)
    assert found is not None
    return {"cookies": {COOKIE: token}, "headers": {"X-CSRF-Token": found.csrf}}


def recorder(call: Callable[[schemathesis.Case], int], statuses: set[int]) -> Callable:
    """A test body that keeps the status each case was answered with."""

    def run(case: schemathesis.Case) -> None:
        statuses.add(call(case))

    return run


def fuzzed(
    api: BaseSchema, call: Callable[[schemathesis.Case], int], held: Holdings, **sent: dict
) -> dict[str, set[int]]:
    """Every operation of `api` called by `call` with up to FUZZ's examples: valid and invalid
    input, and valid input naming the objects `held` (starting from the `cookies` and `headers`
    in `sent`); returns the status codes each operation answered."""
    real = {"request_id": held.pending, "delivery_id": held.delivery, "ticket_id": held.ticket}
    answered: dict[str, set[int]] = {}
    for result in api.get_all_operations():
        operation = result.ok()
        named = {k: v for k, v in real.items() if "{" + k + "}" in operation.path}
        valid = {"body": {"approve": True, "comment": "同意"}} if operation.method == "post" else {}
        cases = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE, **sent),
            operation.as_strategy(GenerationMode.NEGATIVE, **sent),
            operation.as_strategy(GenerationMode.POSITIVE, path_parameters=named, **valid, **sent),
        )
        answered[operation.label] = statuses = set()
        FUZZ(given(case=cases)(recorder(call, statuses)))()
    return answered


def test_without_a_session_every_operation_answers_401(api: BaseSchema, held: Holdings) -> None:
    def call(case: schemathesis.Case) -> int:
        answer = case.call()
        assert answer.status_code == 401, f"{case.method} {case.formatted_path}"
        assert answer.json() == {"detail": "未登录 (sign in first)"}
        return answer.status_code

    answered = fuzzed(api, call, held)
    assert len(answered) == 13 and set.union(*answered.values()) == {401}


def test_a_signed_in_reviewer_gets_no_500_and_answers_as_documented(
    api: BaseSchema, held: Holdings, reviewer: dict[str, dict[str, str]]
) -> None:
    def call(case: schemathesis.Case) -> int:
        return case.call_and_validate().status_code

    answered = fuzzed(api, call, held, **reviewer)
    assert len(answered) == 13 and all(code < 500 for c in answered.values() for code in c)
    assert {200, 409} <= answered["POST /api/requests/{request_id}/decision"], answered
    for read in ("GET /api/requests/{request_id}", "GET /api/tickets/{ticket_id}"):
        assert {200, 404} <= answered[read], answered
    # not a reviewer's (or, with the cookie mutated by an invalid case, nobody's)
    assert 403 in answered["GET /api/deliveries"] <= {401, 403}, answered
