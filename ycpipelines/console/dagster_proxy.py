"""The Dagster UI behind the console's login (Dagster 界面代理): the webservers listen on loopback
only, with the path prefix the console serves them under; the console forwards HTTP and the
GraphQL websocket to them for signed-in accounts of one role.

`/dagster/` is the read-write webserver, for operators; `/dagster-audit/` the read-only one, for
supervisors (auditors). Dagster's UI posts GraphQL without the console's CSRF token, so these
paths skip that guard; instead an unsafe request, and the websocket handshake, must come from the
console's own origin (`Origin`, else `Referer`), and the session cookie is SameSite=Strict.
Mutations are checked (an allowlist) and launches rewritten by `dagster_launches` before they
are forwarded.

Path rule (路径规则): a path holding `?`, `#`, `\\` or `%` once decoded, an empty, `.` or `..`
segment is refused; the upstream URL is built from the quoted path, and the GraphQL check applies
to the path actually sent (the webserver's `/graphql`, a trailing slash ignored). Any other path
is read only (GET, HEAD), and Dagster's REST `report_asset_*` endpoints are refused outright.
An open websocket re-checks the session every `RECHECK` seconds and before each message."""

import asyncio
import json
from collections.abc import Coroutine
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from fastapi import APIRouter, HTTPException, Request, Response, WebSocket
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocketDisconnect, WebSocketState
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException
from websockets.typing import Subprotocol

from ycpipelines.console.context import Console
from ycpipelines.console.csrf import SAFE
from ycpipelines.console.dagster_launches import LAUNCH_TAG, Refused, checked, operation
from ycpipelines.console.sessions import SignedIn, SignInNeeded, Viewer, viewer
from ycpipelines.registry import RegistryError

router = APIRouter(include_in_schema=False)
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer"}
    | {"transfer-encoding", "upgrade", "host", "content-length", "cookie", "set-cookie"}
)
DECODED = HOP | {"content-encoding"}  # an answer read whole is sent decoded
POLICY = 1008  # websocket close code: policy violation
RECHECK = 30.0  # seconds between an open websocket's session checks
READ = frozenset({"GET", "HEAD"})  # all a path other than GraphQL is sent with
UNSAFE_IN_PATH = "?#\\%"
FIND_RUN = (
    "query($t: [ExecutionTag!]) { runsOrError(filter: {tags: $t}) "
    "{ ... on Runs { results { runId creationTime } } } }"
)


@dataclass(frozen=True)
class Upstream:
    """A proxied webserver: its path prefix, the role that reaches it, its setting."""

    prefix: str
    role: str
    setting: str
    read_only: bool

    def base(self, app: Console) -> str:
        """The webserver's URL (with its path prefix), or 503 when it is not served."""
        url = getattr(app.settings, self.setting)
        if not url:
            raise HTTPException(503, f"Dagster 界面未启用 (not served): {self.prefix}/")
        return url.rstrip("/")


WRITE = Upstream("/dagster", "operator", "dagster_url", read_only=False)
AUDIT = Upstream("/dagster-audit", "supervisor", "dagster_audit_url", read_only=True)


def same_origin(headers: Headers) -> bool:
    """The request comes from a page of this console (its Origin, else its Referer)."""
    sent = headers.get("origin") or ""
    if sent in ("", "null"):
        sent = headers.get("referer") or ""
    found = urlsplit(sent)
    return found.scheme in ("http", "https") and found.netloc == headers.get("host")


def admitted(seen: Viewer, upstream: Upstream) -> None:
    if not seen.has(upstream.role):
        raise HTTPException(
            403, f"无权限：Dagster 界面 {upstream.prefix}/ 需要角色 {upstream.role}"
        )


def refused(reason: str) -> HTTPException:
    return HTTPException(403, f"Dagster 请求被拒绝 (refused): {reason}")


async def graphql_body(request: Request, seen: Viewer, upstream: Upstream) -> tuple[bytes, list]:
    """The GraphQL request to forward and the launch tokens it records (see dagster_launches)."""
    if request.method not in ("GET", "HEAD", "POST"):
        raise refused("GraphQL is queried with GET or POST")
    if request.method != "POST":
        if "query" in request.query_params:
            found = operation(
                request.query_params["query"], request.query_params.get("operationName")
            )
            if found.kind != "query":
                raise refused("only queries are sent with GET")
        return b"", []
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise refused("GraphQL is posted as JSON")
    try:
        body = json.loads(await request.body())
    except ValueError:
        raise refused("the body is not JSON") from None
    registry = None if upstream.read_only else request.app.state.console.registry
    tokens = await run_in_threadpool(checked, body, seen.name, registry)
    return json.dumps(body).encode(), tokens


def request_headers(request: Request) -> dict[str, str]:
    """What the webserver gets: no cookie (the console's session stays here), no hop headers."""
    kept = {k: v for k, v in request.headers.items() if k.lower() not in HOP}
    kept.pop("x-csrf-token", None)
    return kept


def upstream_url(base: str, path: str, query: str) -> httpx.URL:
    """The webserver URL a (decoded) path is sent to, or 403 for a path that could mean
    another one there (encoded or dot segments)."""
    segments = path.split("/")
    inner = segments[:-1] if path.endswith("/") else segments  # a trailing slash is kept
    if any(c in path for c in UNSAFE_IN_PATH) or (path and {"", ".", ".."} & set(inner)):
        raise refused("the path is not a plain one")
    return httpx.URL(f"{base}/{quote(path)}" + (f"?{query}" if query else ""))


def is_graphql(url: httpx.URL, base: str) -> bool:
    """The URL is the webserver's GraphQL endpoint (a trailing slash ignored)."""
    return url.path.rstrip("/") == httpx.URL(base).path.rstrip("/") + "/graphql"


def read_only_path(request: Request, url: httpx.URL, base: str) -> None:
    """A path other than GraphQL is only read; the REST reports are never forwarded."""
    rest = url.path.removeprefix(httpx.URL(base).path.rstrip("/")).lstrip("/")
    if rest.startswith("report_asset"):
        raise refused("events are reported by runs, not through the console")
    if request.method not in READ:
        raise refused("only GraphQL takes a request other than GET")


async def bind(client: httpx.AsyncClient, base: str, tokens: list[str], app: Console) -> None:
    """Bind each launch token to the run the webserver made with it: only when exactly one run
    carries it (none if the launch failed); the registry checks the run came after the record."""
    for token in tokens:
        variables = {"t": [{"key": LAUNCH_TAG, "value": token}]}
        answer = await client.post(
            f"{base}/graphql", json={"query": FIND_RUN, "variables": variables}
        )
        try:
            found = (answer.json().get("data") or {}).get("runsOrError") or {}
        except ValueError:  # not JSON: nothing to bind; the launch stays recorded, unbound
            continue
        runs = found.get("results") or []
        if len(runs) != 1:
            continue
        created = datetime.fromtimestamp(float(runs[0]["creationTime"]), UTC)
        try:
            await run_in_threadpool(app.registry.bind_launch, token, runs[0]["runId"], created)
        except RegistryError:  # the launch stays recorded, unbound; the run has no launcher
            continue


async def forward(request: Request, path: str, seen: Viewer, upstream: Upstream) -> Response:
    """The webserver's answer to this request, streamed back."""
    app: Console = request.app.state.console
    admitted(seen, upstream)
    if request.method not in SAFE and not same_origin(request.headers):
        raise refused("cross-site request")
    base = upstream.base(app)
    tokens: list[str] = []
    body = await request.body()
    url = upstream_url(base, path, request.url.query)
    if not is_graphql(url, base):
        read_only_path(request, url, base)
    else:
        try:
            content, tokens = await graphql_body(request, seen, upstream)
        except Refused as error:
            raise refused(str(error)) from None
        if request.method == "POST":
            body, url = content, url.copy_with(query=None)
    client = httpx.AsyncClient(timeout=httpx.Timeout(60, read=None))
    sent = client.build_request(request.method, url, headers=request_headers(request), content=body)
    try:
        answer = await client.send(sent, stream=True)
        if tokens:  # the run exists once the answer is back: bind it, then answer whole
            await answer.aread()
            await bind(client, base, tokens, app)
    except httpx.HTTPError:
        await client.aclose()
        raise HTTPException(502, "Dagster 界面暂不可达 (webserver unreachable)") from None
    if tokens:
        await client.aclose()
        return Response(answer.content, answer.status_code, response_headers(answer, DECODED))
    return StreamingResponse(
        answer.aiter_raw(),
        status_code=answer.status_code,
        headers=response_headers(answer, HOP - {"content-length"}),
        background=BackgroundTask(close, answer, client),
    )


def response_headers(answer: httpx.Response, dropped: frozenset[str]) -> dict[str, str]:
    return {k: v for k, v in answer.headers.items() if k.lower() not in dropped}


async def close(answer: httpx.Response, client: httpx.AsyncClient) -> None:
    await answer.aclose()
    await client.aclose()


@router.api_route("/dagster/{path:path}", methods=METHODS)
async def dagster(request: Request, path: str, seen: SignedIn) -> Response:
    """The read-write webserver, for operators."""
    return await forward(request, path, seen, WRITE)


@router.api_route("/dagster-audit/{path:path}", methods=METHODS)
async def dagster_audit(request: Request, path: str, seen: SignedIn) -> Response:
    """The read-only webserver, for supervisors (auditors)."""
    return await forward(request, path, seen, AUDIT)


def socket_viewer(socket: WebSocket, upstream: Upstream) -> Viewer | None:
    """The signed-in viewer of a websocket handshake, if it may open this one."""
    app: Console = socket.app.state.console
    with suppress(AttributeError, KeyError):  # read afresh: a re-check must see a sign-out
        del socket.state.session
    try:
        seen = viewer(socket, app)  # type: ignore[arg-type]  # reads cookies and state only
    except SignInNeeded:
        return None
    if not seen.has(upstream.role) or not same_origin(socket.headers):
        return None
    return seen


def allowed_message(text: str) -> bool:
    """A graphql-ws message the webserver may get: never a mutation."""
    try:
        message = json.loads(text)
        if message.get("type") in ("start", "subscribe"):
            payload = message["payload"]
            return operation(payload["query"], payload.get("operationName")).kind != "mutation"
    except (ValueError, KeyError, TypeError, AttributeError, Refused):
        return False
    return isinstance(message, dict)


async def still_admitted(socket: WebSocket, upstream: Upstream) -> bool:
    """The handshake's session is still signed in and still holds the role."""
    return await run_in_threadpool(socket_viewer, socket, upstream) is not None


async def browser_to_webserver(socket: WebSocket, remote: object, upstream: Upstream) -> None:
    while True:
        message = await socket.receive()
        text = message.get("text")
        if message["type"] == "websocket.disconnect":
            return
        allowed = text is not None and allowed_message(text)
        if not allowed or not await still_admitted(socket, upstream):
            await socket.close(POLICY)
            return
        await remote.send(text)  # type: ignore[attr-defined]


async def webserver_to_browser(socket: WebSocket, remote: object) -> None:
    async for message in remote:  # type: ignore[attr-defined]
        if isinstance(message, str):
            await socket.send_text(message)
        else:
            await socket.send_bytes(message)
    await socket.close()


async def watch(socket: WebSocket, upstream: Upstream) -> None:
    """Close the websocket once its session is signed out or its role removed."""
    while True:
        await asyncio.sleep(RECHECK)
        if not await still_admitted(socket, upstream):
            await socket.close(POLICY)
            return


async def quietly(pump: Coroutine[Any, Any, None]) -> None:
    """One direction of the tunnel, ending when either side is gone."""
    try:
        await pump
    except (WebSocketException, WebSocketDisconnect, RuntimeError, OSError):
        return


async def tunnel(socket: WebSocket, upstream: Upstream) -> None:
    """The UI's GraphQL websocket (subscriptions), for the viewer who may open this webserver."""
    app: Console = socket.app.state.console
    url = getattr(app.settings, upstream.setting)
    if socket_viewer(socket, upstream) is None or not url:
        await socket.close(POLICY)
        return
    target = url.rstrip("/").replace("http", "ws", 1) + "/graphql"
    protocols = [Subprotocol(p) for p in socket.scope.get("subprotocols") or []]
    try:
        async with connect(target, subprotocols=protocols or None, open_timeout=10) as remote:
            await socket.accept(subprotocol=remote.subprotocol)
            pumps = [
                asyncio.create_task(quietly(browser_to_webserver(socket, remote, upstream))),
                asyncio.create_task(quietly(webserver_to_browser(socket, remote))),
                asyncio.create_task(quietly(watch(socket, upstream))),
            ]
            _, pending = await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
    except (OSError, WebSocketException):
        if socket.client_state == WebSocketState.CONNECTING:
            await socket.close(POLICY)


async def dagster_socket(socket: WebSocket) -> None:
    await tunnel(socket, WRITE)


async def dagster_audit_socket(socket: WebSocket) -> None:
    await tunnel(socket, AUDIT)


# Plain Starlette routes: the app's dependencies (the CSRF guard) take a Request, not a socket.
router.routes.append(WebSocketRoute("/dagster/graphql", dagster_socket))
router.routes.append(WebSocketRoute("/dagster-audit/graphql", dagster_audit_socket))
