"""The Dagster UI behind the console's login: a real dagster-webserver on loopback under
/dagster (code server and embedded instance of the module's YC_HOME; its queued coordinator
keeps launched runs queued, no daemon runs them), reached only through the console's proxy."""

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from ycpipelines.catalog import load_catalog
from ycpipelines.console import dagster_proxy
from ycpipelines.console.app import create_app
from ycpipelines.console.dagster_launches import LAUNCH_TAG
from ycpipelines.console.sessions import COOKIE
from ycpipelines.egress.review import LAUNCHED_BY, quality_of_inputs
from ycpipelines.foundation.clock import pilot_today
from ycpipelines.foundation.keys import Layer, product_key, std_key
from ycpipelines.foundation.partitions import BUREAU_TAG as BUREAU
from ycpipelines.foundation.partitions import partition_key
from ycpipelines.foundation.settings import Settings
from ycpipelines.govern.checks import QUALITY_GATE
from ycpipelines.ops.serve import (
    Services,
    code_server,
    free_port,
    graphql,
    wait_until_up,
    webserver,
)
from ycpipelines.registry import Registry, RegistryError
from ycpipelines.registry.identity import LAUNCH_TOKEN
from ycpipelines.registry.models import ApprovalRequest

from helpers import ADMIN, screenshot
from people import chromium, client, live, person, sign_in, signed_in_page

OPERATOR = "钱运维"  # an operator who also reviews: four eyes must stop them on their own build
ORIGIN = {"origin": "http://127.0.0.1"}  # the TestClient's own origin
SOCKET = "ws://127.0.0.1/dagster/graphql"  # the host the session cookie was set for
SELECTOR = {
    "repositoryLocationName": "ycpipelines",
    "repositoryName": "__repository__",
    "jobName": "build_products",
}
LAUNCH = """mutation Launch($executionParams: ExecutionParams!) {
  launchPipelineExecution(executionParams: $executionParams) {
    __typename ... on LaunchRunSuccess { run { runId tags { key value } } }
    ... on PythonError { message } } }"""
RUN = (
    "query($id: ID!) { runOrError(runId: $id) { ... on Run { creationTime tags { key value } } } }"
)
BACKFILL = (
    "query($id: String!) { partitionBackfillOrError(backfillId: $id) "
    "{ ... on PartitionBackfill { tags { key value } } } }"
)
ASSETS = "query Assets { assetNodes { assetKey { path } } }"


@pytest.fixture(scope="module")
def webserver_url(yc_home: Path) -> Iterator[str]:
    """Code server and webserver as `ycp serve` starts them (loopback, path prefix), on the
    embedded instance made here first (two processes making its SQLite tables at once race)."""
    with dg.DagsterInstance.get():
        pass
    port = free_port()
    env = Settings().child_environment(
        YC_CODE_SERVER_HOST="127.0.0.1", YC_CODE_SERVER_PORT=str(free_port())
    )
    services = Services(url=f"http://127.0.0.1:{port}/dagster", logs=yc_home / "logs", env=env)
    services.logs.mkdir()
    try:
        services.start("code-server", code_server(int(env["YC_CODE_SERVER_PORT"])))
        services.start("webserver", webserver(port, read_only=False))
        wait_until_up(services)
        yield services.url
    finally:
        for name in list(services.processes):
            services.stop(name)


@pytest.fixture(scope="module")
def app(registry: Registry, webserver_url: str) -> FastAPI:
    """The console proxying the webserver; the auditors' path is pointed at the same one, so
    what it refuses is refused by the proxy itself (tests/ops/test_operating.py shows the
    read-only webserver refusing launches on its own)."""
    settings = Settings(dagster_url=webserver_url, dagster_audit_url=webserver_url)
    return create_app(settings, registry, load_catalog(settings.catalog))


@pytest.fixture(scope="module")
def operator(app: FastAPI, registry: Registry) -> TestClient:
    return sign_in(app, person(registry, OPERATOR, ["operator", "reviewer"]))


def launch(browser: TestClient, forged: str = "someone-else", **headers: str) -> dict:
    metadata = {"tags": [{"key": LAUNCHED_BY, "value": forged}, {"key": LAUNCH_TAG, "value": "x"}]}
    params = {"selector": SELECTOR, "runConfigData": {}, "executionMetadata": metadata}
    answer = browser.post(
        "/dagster/graphql",
        json={"query": LAUNCH, "variables": {"executionParams": params}},
        headers={**ORIGIN, **headers},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]["launchPipelineExecution"]


def test_no_session_signs_in_and_other_roles_are_refused(app: FastAPI, registry: Registry) -> None:
    for path in ("/dagster/", "/dagster-audit/", "/dagster/graphql"):
        answer = client(app).get(path)
        assert (answer.status_code, answer.headers["location"]) == (303, "/login"), path
    for name, roles in (("孙数源", ["bureau:health"]), ("李审核", ["reviewer"])):
        browser = sign_in(app, person(registry, name, roles))
        for path in ("/dagster/", "/dagster-audit/"):
            assert browser.get(path).status_code == 403, (name, path)
        assert launch_refused(browser, ORIGIN)


def launch_refused(browser: TestClient, headers: dict[str, str], body: object = None) -> bool:
    params = {"selector": SELECTOR, "runConfigData": {}}
    sent = body if body is not None else {"query": LAUNCH, "variables": {"executionParams": params}}
    answer = browser.post("/dagster/graphql", json=sent, headers=headers)
    return answer.status_code == 403 and "LaunchRunSuccess" not in answer.text


def test_an_operator_gets_the_ui_through_the_proxy(operator: TestClient) -> None:
    page = operator.get("/dagster/")
    assert page.status_code == 200
    assert "/dagster" in page.text and "nonce-" in page.headers["content-security-policy"]
    assert "ycp_session" not in page.headers.get("set-cookie", "")
    graph = operator.post("/dagster/graphql", json={"query": ASSETS}, headers=ORIGIN).json()
    assert {"path": ["published", "disease_stats"]} in [
        n["assetKey"] for n in graph["data"]["assetNodes"]
    ]


def test_a_launch_names_the_signed_in_operator_who_then_cannot_approve(
    operator: TestClient, registry: Registry, webserver_url: str
) -> None:
    launched = launch(operator, forged="someone-else")
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    tags = {t["key"]: t["value"] for t in launched["run"]["tags"]}
    assert tags[LAUNCHED_BY] == OPERATOR and tags[LAUNCH_TAG].startswith("launch-")
    run = graphql(webserver_url, RUN, id=run_id)["runOrError"]  # as the webserver stored it
    assert {"key": LAUNCHED_BY, "value": OPERATOR} in run["tags"]
    created = datetime.fromtimestamp(run["creationTime"], UTC)
    assert registry.launcher_of(run_id, created) == OPERATOR
    [bound] = registry.history(f"run/{run_id}")
    assert bound.action == "run.bound" and bound.detail["launch"] == tags[LAUNCH_TAG]
    [recorded] = registry.history(f"run/{tags[LAUNCH_TAG]}")
    assert recorded.action == "run.launched" and recorded.id < bound.id
    request = build_request(registry, run_id, registry.launcher_of(run_id, created))
    assert "four eyes" in (registry.check_reviewer(request, OPERATOR) or "")
    with pytest.raises(RegistryError, match="four eyes"):
        registry.decide(request.id, approve=True, reviewer=OPERATOR, comment="同意")
    other = person(registry, "周审核", ["reviewer"]).name
    assert registry.check_reviewer(request, other) is None


def build_request(registry: Registry, run_id: str, launched_by: str | None) -> ApprovalRequest:
    """The review request the egress sensor files for a build run (egress/review.py: its
    launcher is `launcher_of` the run)."""
    scenario, today = "disease_stats", pilot_today()
    product = next(p for p in load_catalog().products if p.scenario == scenario)
    consumer, fields = product.consumer, [f.name for f in product.fields]
    grant = registry.grant(
        consumer=consumer, scenario=scenario, fields=fields, plan="预案: 停止交付",
        valid_from=today - timedelta(days=1), valid_to=today + timedelta(days=30), actor=ADMIN,
    )  # fmt: skip
    request, _ = registry.file_request(
        "egress-sensor", scenario=scenario, consumer=consumer, authorization_id=grant.id,
        content_hash=f"sha256:{run_id}", row_count=1, product_path="/zone/x.csv",
        product_run_id=run_id, launched_by=launched_by, evidence={},
    )  # fmt: skip
    return request


def test_a_reexecution_as_the_ui_sends_it_is_recorded_and_tagged(
    operator: TestClient, registry: Registry
) -> None:
    """The UI declares both parameters and sends one; the run it makes is bound like a launch;
    a default in the document (which the proxy would not see) is refused."""
    parent = launch(operator)["run"]["runId"]
    mutation = """mutation Re($executionParams: ExecutionParams,
        $reexecutionParams: ReexecutionParams) { launchPipelineReexecution(
        executionParams: $executionParams, reexecutionParams: $reexecutionParams) {
        __typename ... on LaunchRunSuccess { run { runId tags { key value } } } } }"""
    forged = [{"key": LAUNCHED_BY, "value": "someone-else"}]
    params = {"parentRunId": parent, "strategy": "ALL_STEPS", "extraTags": forged}
    before = len(registry.audit_log())
    answer = operator.post(
        "/dagster/graphql",
        json={"query": mutation, "variables": {"reexecutionParams": params}},
        headers=ORIGIN,
    )
    assert answer.status_code == 200, answer.text
    [recorded] = [e for e in registry.audit_log()[before:] if e.action == "run.launched"]
    assert recorded.actor == OPERATOR and recorded.detail["job"] == f"reexecution of {parent}"
    result = answer.json()["data"]["launchPipelineReexecution"]
    assert result["__typename"] == "LaunchRunSuccess", result
    run = result["run"]
    assert {"key": LAUNCHED_BY, "value": OPERATOR} in run["tags"]
    assert [e.action for e in registry.history(f"run/{run['runId']}")] == ["run.bound"]
    defaulted = mutation.replace(
        "$reexecutionParams: ReexecutionParams)",
        '$reexecutionParams: ReexecutionParams = {parentRunId: "x", strategy: ALL_STEPS})',
    )
    assert launch_refused(operator, ORIGIN, {"query": defaulted, "variables": {}})


def test_a_backfill_gets_the_operator_tag_and_an_audit_entry(
    operator: TestClient, registry: Registry, webserver_url: str
) -> None:
    """A backfill's runs come later from the daemon: its tags are overwritten, its launch
    audited, and none of its runs gets a recorded launcher."""
    mutation = """mutation($p: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $p)
      { __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }"""
    params = {
        "partitionNames": [partition_key("health", "2025-06-30")],
        "assetSelection": [{"path": ["raw", "health", "outpatient_visits"]}],
        "tags": [{"key": LAUNCHED_BY, "value": "someone-else"}, {"key": BUREAU, "value": "x"}],
    }
    before = len(registry.audit_log())
    answer = operator.post(
        "/dagster/graphql", json={"query": mutation, "variables": {"p": params}}, headers=ORIGIN
    ).json()["data"]["launchPartitionBackfill"]
    assert answer["__typename"] == "LaunchBackfillSuccess", answer
    [audited] = [e for e in registry.audit_log()[before:] if e.action == "backfill.launched"]
    assert audited.actor == OPERATOR
    backfill = graphql(webserver_url, BACKFILL, id=answer["backfillId"])
    tags = backfill["partitionBackfillOrError"]["tags"]
    assert {"key": LAUNCHED_BY, "value": OPERATOR} in tags
    # its runs over ranges of days carry no partition tag: the per-bureau limit keys on this
    assert [t for t in tags if t["key"] == BUREAU] == [{"key": BUREAU, "value": "health"}]


def test_only_a_pending_launch_token_binds_and_only_once(registry: Registry) -> None:
    person(registry, OPERATOR, ["operator", "reviewer"])
    registry.record_launch(OPERATOR, "run-by-hand", "build_products")
    later = datetime.now(UTC) + timedelta(seconds=5)
    with pytest.raises(RegistryError, match="launch token"):
        registry.bind_launch("run-by-hand", "another-run", later)
    token = f"{LAUNCH_TOKEN}{uuid.uuid4()}"
    registry.record_launch(OPERATOR, token, "build_products")
    with pytest.raises(RegistryError, match="recorded launcher already"):
        registry.bind_launch(token, "run-by-hand", later)
    earlier = datetime.now(UTC) - timedelta(minutes=5)  # a run that existed before the launch
    with pytest.raises(RegistryError, match="created before the launch"):
        registry.bind_launch(token, "run-older", earlier)
    registry.bind_launch(token, "run-bound", later)
    with pytest.raises(RegistryError, match="no launch is pending"):
        registry.bind_launch(token, "run-again", later)


def test_cross_site_batched_inline_and_non_json_launches_are_refused(
    operator: TestClient,
) -> None:
    assert launch_refused(operator, {"origin": "http://evil.example"})
    assert launch_refused(operator, {})  # no Origin, no Referer
    assert launch_refused(operator, {"referer": "http://evil.example/dagster/"})
    params = {"selector": SELECTOR, "runConfigData": {}}
    batch = [{"query": LAUNCH, "variables": {"executionParams": params}}]
    assert launch_refused(operator, ORIGIN, batch)
    inline = (
        'mutation { launchRun(executionParams: {selector: {repositoryLocationName: "ycpipelines",'
        ' repositoryName: "__repository__", jobName: "build_products"}}) { __typename } }'
    )
    assert launch_refused(operator, ORIGIN, {"query": inline})
    twice = "mutation($p: ExecutionParams!) { a: launchRun(executionParams: $p) { __typename } "
    twice += "b: launchRun(executionParams: $p) { __typename } }"
    assert launch_refused(operator, ORIGIN, {"query": twice, "variables": {"p": params}})
    as_text = operator.post(
        "/dagster/graphql",
        content=LAUNCH,
        headers={**ORIGIN, "content-type": "application/graphql"},
    )
    assert as_text.status_code == 403
    by_get = operator.get("/dagster/graphql", params={"query": LAUNCH})
    assert by_get.status_code == 403


def test_the_auditors_proxy_forwards_no_mutation(app: FastAPI, registry: Registry) -> None:
    auditor = sign_in(app, person(registry, "吴监管", ["supervisor"]))
    assert auditor.get("/dagster/").status_code == 403
    query = auditor.post("/dagster-audit/graphql", json={"query": ASSETS}, headers=ORIGIN)
    assert query.status_code == 200 and query.json()["data"]["assetNodes"]
    wipe = "mutation { setNuxSeen }"
    for body in ({"query": LAUNCH, "variables": {}}, {"query": wipe}):
        answer = auditor.post("/dagster-audit/graphql", json=body, headers=ORIGIN)
        assert answer.status_code == 403, body


def test_the_websocket_opens_for_the_operator_only_and_carries_no_mutation(
    operator: TestClient, app: FastAPI
) -> None:
    protocols = ["graphql-ws"]
    with operator.websocket_connect(SOCKET, subprotocols=protocols, headers=ORIGIN) as socket:
        socket.send_text(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(socket.receive_text())["type"] == "connection_ack"
        start = {"id": "1", "type": "start", "payload": {"query": LAUNCH, "variables": {}}}
        socket.send_text(json.dumps(start))
        with pytest.raises(WebSocketDisconnect):
            socket.receive_text()
    for who, headers in ((operator, {"origin": "http://evil.example"}), (client(app), ORIGIN)):
        opened = who.websocket_connect(SOCKET, subprotocols=protocols, headers=headers)
        with pytest.raises(WebSocketDisconnect), opened:
            pass


def test_an_unserved_webserver_answers_503(registry: Registry) -> None:
    settings = Settings(dagster_url=None)
    unserved = create_app(settings, registry, load_catalog(settings.catalog))
    browser = sign_in(unserved, person(registry, OPERATOR, ["operator", "reviewer"]))
    assert browser.get("/dagster/").status_code == 503


def test_the_asset_graph_in_chromium_through_the_proxy(
    app: FastAPI, registry: Registry, tmp_path: Path
) -> None:
    """HTML, scripts and the websocket of the UI, all through the console."""
    sockets: list[str] = []
    with live(app) as url, chromium() as browser:
        page = signed_in_page(browser, url, person(registry, OPERATOR, ["operator", "reviewer"]))
        page.on("websocket", lambda s: sockets.append(s.url))
        page.goto(f"{url}/dagster/asset-groups", wait_until="networkidle")
        shown = page.get_by_text("published", exact=True).filter(visible=True)
        shown.first.wait_for(timeout=60_000)
        skip = page.get_by_role("button", name="Skip")  # the newsletter dialog
        skip.wait_for(timeout=10_000)
        skip.click()
        skip.wait_for(state="hidden")
        shot = screenshot(page, tmp_path, "dagster-through-console")
    assert shot.stat().st_size > 10_000
    assert any(s.startswith(f"{url.replace('http', 'ws')}/dagster/graphql") for s in sockets)


SUPERVISOR = "吴监管"
BYPASSES = [  # encoded, dot and empty segments: once meant the webserver's /graphql unchecked
    "graphql%3F",
    "graphql%23",
    "%2e/graphql",
    "x/%2e%2e/graphql",
    "x/..%2Fgraphql",
    "graphql%5C",
    "graphql%252e",
    "x//graphql",
]


def forged_launch(forged: str) -> dict:
    tags = [{"key": LAUNCHED_BY, "value": forged}, {"key": LAUNCH_TAG, "value": "launch-forged"}]
    params = {"selector": SELECTOR, "runConfigData": {}, "executionMetadata": {"tags": tags}}
    return {"query": LAUNCH, "variables": {"executionParams": params}}


@pytest.mark.parametrize("path", BYPASSES)
def test_encoded_and_dot_segment_paths_are_refused_on_both_webservers(
    operator: TestClient, app: FastAPI, registry: Registry, path: str
) -> None:
    auditor = sign_in(app, person(registry, SUPERVISOR, ["supervisor"]))
    before = len(registry.audit_log())
    for browser, prefix in ((operator, "/dagster"), (auditor, "/dagster-audit")):
        for body in (forged_launch("someone-else"), {"query": "mutation { setNuxSeen }"}):
            answer = browser.post(f"{prefix}/{path}", json=body, headers=ORIGIN)
            assert answer.status_code == 403, (prefix, path, answer.text)
            assert "LaunchRunSuccess" not in answer.text and "setNuxSeen" not in answer.text
    assert not [e for e in registry.audit_log()[before:] if e.action == "run.launched"]


def test_graphql_with_a_trailing_slash_is_still_checked(
    operator: TestClient, app: FastAPI, registry: Registry
) -> None:
    auditor = sign_in(app, person(registry, SUPERVISOR, ["supervisor"]))
    nux = {"query": "mutation { setNuxSeen }"}
    answer = auditor.post("/dagster-audit/graphql/", json=nux, headers=ORIGIN)
    assert answer.status_code == 403 and "read-only" in answer.text
    wipe = {"query": "mutation { wipeAssets(assetPartitionRanges: []) { __typename } }"}
    assert operator.post("/dagster/graphql/", json=wipe, headers=ORIGIN).status_code == 403


REFUSED = [  # Dagster 1.13's mutations outside the operators' allowlist, and unknown ones
    "reportAssetCheckEvaluations", "reportRunlessAssetEvents", "wipeAssets", "deleteRun",
    "deletePipelineRun", "setSensorCursor", "resetSensor", "resetSchedule", "sensorDryRun",
    "scheduleDryRun", "setAppManagedComponent", "deleteAppManagedComponent",
    "refreshComponentState", "shutdownRepositoryLocation", "setAutoMaterializePaused",
    "setConcurrencyLimit", "deleteConcurrencyLimit", "freeConcurrencySlots",
    "freeConcurrencySlotsForRun", "addDynamicPartition", "deleteDynamicPartitions",
    "terminatePipelineExecution", "launchSomethingNew",
]  # fmt: skip
SENSOR = {
    "repositoryLocationName": "ycpipelines",
    "repositoryName": "__repository__",
    "sensorName": "egress_review",
}


def mutate(browser: TestClient, query: str, variables: dict | None = None) -> httpx.Response:
    body = {"query": query, "variables": variables or {}}
    return browser.post("/dagster/graphql", json=body, headers=ORIGIN)


def test_mutations_outside_the_allowlist_are_refused(
    operator: TestClient, registry: Registry, webserver_url: str
) -> None:
    for name in REFUSED:
        answer = mutate(operator, f"mutation($x: String) {{ {name}(x: $x) {{ __typename }} }}")
        assert answer.status_code == 403 and name in answer.text, name
    hidden = (
        "mutation { ok: setNuxSeen, also: wipeAssets(assetPartitionRanges: []) { __typename } }"
    )
    assert mutate(operator, hidden).status_code == 403
    run_id = launch(operator)["run"]["runId"]  # the attack's own requests, as the UI sends them
    deleted = mutate(
        operator, "mutation($r: String!) { deleteRun(runId: $r) { __typename } }", {"r": run_id}
    )
    assert deleted.status_code == 403
    assert graphql(webserver_url, RUN, id=run_id)["runOrError"]["tags"]  # still there
    cursor = 'mutation($s: SensorSelector!) { setSensorCursor(sensorSelector: $s, cursor: "9") '
    cursor += "{ __typename } }"
    assert mutate(operator, cursor, {"s": SENSOR}).status_code == 403


def test_a_forged_quality_gate_is_refused(operator: TestClient, registry: Registry) -> None:
    catalog = load_catalog()
    product = next(p for p in catalog.products if p.scenario == "disease_stats")
    ref = next(r for r in product.inputs if r.layer == Layer.SAFE)
    with dg.DagsterInstance.get() as instance:
        before = quality_of_inputs(instance, catalog, product)[ref.name]
    report = (
        "mutation($p: ReportAssetCheckEvaluationsParams!) { reportAssetCheckEvaluations("
        "eventParams: $p) { __typename } }"
    )
    params = {"assetKey": {"path": std_key(catalog.dataset(ref.name)).path}}
    answer = mutate(operator, report, {"p": params | {"checkName": QUALITY_GATE, "passed": True}})
    assert answer.status_code == 403
    with dg.DagsterInstance.get() as instance:
        assert quality_of_inputs(instance, catalog, product)[ref.name] == before


def test_allowed_mutations_are_audited_with_their_identifiers_only(
    operator: TestClient, registry: Registry
) -> None:
    before = len(registry.audit_log())
    start = "mutation($s: SensorSelector!) { startSensor(sensorSelector: $s) "
    start += "{ ... on Sensor { id } } }"
    answer = mutate(operator, start, {"s": SENSOR})
    assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
    sensor = answer.json()["data"]["startSensor"]["id"]
    stop = "mutation($id: String) { stopSensor(id: $id) { __typename } }"
    stopped = mutate(operator, stop, {"id": sensor})
    assert stopped.status_code == 200 and "errors" not in stopped.json(), stopped.text
    telemetry = (
        'mutation($m: String!) { logTelemetry(action: "open", clientTime: "1", '
        'clientId: "c", metadata: $m) { __typename } }'
    )
    logged = mutate(operator, telemetry, {"m": json.dumps({"kept": "out of the audit"})})
    assert logged.status_code == 200, logged.text
    entries = [e for e in registry.audit_log()[before:] if e.action == "dagster.mutation"]
    assert [(e.actor, e.subject) for e in entries] == [
        (OPERATOR, "dagster/startSensor"),
        (OPERATOR, "dagster/stopSensor"),
        (OPERATOR, "dagster/logTelemetry"),
    ]
    assert entries[0].detail == {"mutation": "startSensor", "sensorSelector": SENSOR}
    assert entries[1].detail == {"mutation": "stopSensor", "id": sensor}
    assert entries[2].detail == {"mutation": "logTelemetry", "action": "open"}


def test_rest_writes_are_not_forwarded_on_either_webserver(
    operator: TestClient, app: FastAPI, registry: Registry
) -> None:
    auditor = sign_in(app, person(registry, SUPERVISOR, ["supervisor"]))
    key = "/".join(product_key("disease_stats").path)
    reports = ("report_asset_materialization", "report_asset_check", "report_asset_observation")
    for browser, prefix in ((operator, "/dagster"), (auditor, "/dagster-audit")):
        for endpoint in reports:
            for method in ("POST", "GET"):
                answer = browser.request(
                    method, f"{prefix}/{endpoint}/{key}", json={"description": "x"}, headers=ORIGIN
                )
                assert answer.status_code == 403, (prefix, endpoint, method)
        for method in ("POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
            answer = browser.request(method, f"{prefix}/server_info", headers=ORIGIN)
            assert answer.status_code == 403, (prefix, method)
        assert browser.get(f"{prefix}/server_info").status_code == 200
    with dg.DagsterInstance.get() as instance:
        event = instance.get_latest_materialization_event(product_key("disease_stats"))
    assert event is None or event.run_id


class Bound:
    """A registry stand-in that notes what the proxy binds."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def bind_launch(self, token: str, run_id: str, created: datetime) -> None:
        self.calls.append((token, run_id, created))
        if run_id == "older":
            raise RegistryError("created before the launch was recorded")


def test_bind_needs_exactly_one_run_and_survives_a_refusal() -> None:
    answers = {
        "launch-two": [{"runId": "a", "creationTime": 1.0}, {"runId": "b", "creationTime": 2.0}],
        "launch-none": [],
        "launch-older": [{"runId": "older", "creationTime": 1.0}],
        "launch-one": [{"runId": "one", "creationTime": 3.0}],
    }

    def webserver(request: httpx.Request) -> httpx.Response:
        token = json.loads(request.content)["variables"]["t"][0]["value"]
        return httpx.Response(200, json={"data": {"runsOrError": {"results": answers[token]}}})

    registry = Bound()

    async def bind_all() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(webserver)) as webclient:
            app = type("App", (), {"registry": registry})()
            await dagster_proxy.bind(webclient, "http://x/dagster", list(answers), app)

    asyncio.run(bind_all())
    assert [(t, r) for t, r, _ in registry.calls] == [
        ("launch-older", "older"),
        ("launch-one", "one"),
    ]
    assert registry.calls[1][2] == datetime.fromtimestamp(3.0, UTC)


def open_socket(browser: TestClient) -> WebSocketTestSession:
    return browser.websocket_connect(SOCKET, subprotocols=["graphql-ws"], headers=ORIGIN)


def closed(socket: WebSocketTestSession) -> bool:
    """The proxy closed the socket (keep-alives read past)."""
    try:
        for _ in range(50):
            socket.receive_text()
    except WebSocketDisconnect:
        return True
    return False


def test_an_open_websocket_closes_once_signed_out_or_its_role_removed(
    app: FastAPI, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    who = person(registry, "郑运维", ["operator"])
    browser = sign_in(app, who)
    with open_socket(browser) as socket:
        socket.send_text(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(socket.receive_text())["type"] == "connection_ack"
        registry.close_session(browser.cookies[COOKIE])
        socket.send_text(json.dumps({"type": "stop", "id": "1"}))
        assert closed(socket)
    monkeypatch.setattr(dagster_proxy, "RECHECK", 0.2)
    browser = sign_in(app, who)
    with open_socket(browser) as socket:
        socket.send_text(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(socket.receive_text())["type"] == "connection_ack"
        registry.remove_roles(who.name, ["operator"], ADMIN)
        assert closed(socket)  # no message sent: the periodic re-check closes it
