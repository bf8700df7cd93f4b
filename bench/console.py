"""控制台 benchmark: the console under 50 signed-in sessions at once.

The console runs as `ycp console` does (uvicorn in its own process) over a registry with real
data in a temporary YC_HOME: deliveries made through the one delivery path and pending requests.
Accounts are made through the registry (password policy, TOTP via pyotp) and sign in through
the pages. Then for --seconds, --clients concurrent clients browse the review desk (/desk,
/desk/{id}) as reviewers and download their deliveries (/deliveries/{id}/download) as
consumers; each page is checked to answer before the timed part.
One JSON line: requests/s, latency percentiles, errors, per-route counts, the server's CPU
seconds and peak RSS, the client's CPU seconds, wall seconds and the load average before and
after (a shared machine's state is part of the figure). Goal: 0 errors, p95 < 300 ms.
Usage: python bench/console.py [--seconds 60] [--clients 50] [--registry-url URL]
"""

import argparse
import asyncio
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import pyotp

ADMIN = "数据局"
PASSWORD, FIRST = "Bench-console-2025!", "Bench-initial-2025!"
CONSUMERS = 5  # insurers, each with one delivery and one pending request
DELIVERY_ROWS = 5_000
ROUTES = {"/desk": 3, "/desk/{id}": 3, "/deliveries/{id}/download": 4}  # route: weight


@dataclass
class Held:
    """What the bench's registry holds: accounts and the ids they browse."""

    reviewers: dict[str, str] = field(default_factory=dict)  # name -> TOTP secret
    consumers: dict[str, int] = field(default_factory=dict)  # account -> its delivery id
    pending: list[int] = field(default_factory=list)


def account(registry, name: str, roles: list[str]) -> str | None:
    """An account with its password changed and, for a reviewer, TOTP enrolled (its secret)."""
    registry.add_user(name, roles, ADMIN, os_account=name)
    registry.set_password(name, FIRST, ADMIN)
    registry.change_password(name, FIRST, PASSWORD)
    if not registry.needs_totp(name):
        return None
    secret = registry.begin_totp(name)
    registry.confirm_totp(name, pyotp.TOTP(secret).at(time.time() - 30))  # sign-in: a later step
    return secret


def product(folder: Path, name: str, seed: int) -> Path:
    """A small de-identified product: one score per row."""
    rng = random.Random(seed)
    path = folder / name
    path.write_text("score\n" + "".join(f"{rng.random():.4f}\n" for _ in range(DELIVERY_ROWS)))
    return path


def filed(registry, consumer: str, source: Path, grant_id: int) -> int:
    from upath import UPath

    from ycpipelines.foundation.lake import file_digest

    request, _ = registry.file_request(
        "egress-sensor", scenario="underwriting_features", consumer=consumer,
        authorization_id=grant_id, content_hash=file_digest(UPath(source)),
        row_count=DELIVERY_ROWS, product_path=str(source), product_run_id=f"run-{consumer}",
        launched_by="赵运营", evidence={},
    )  # fmt: skip
    return request.id


def delivered(registry, consumer: str, source: Path, zone: Path, reviewer: str) -> int:
    """`source` through the one delivery path: a grant, a request, an approval, `deliver`."""
    from upath import UPath

    from ycpipelines.egress.delivery import deliver
    from ycpipelines.egress.records import Order, Scope
    from ycpipelines.foundation.clock import pilot_today

    today = pilot_today()
    grant = registry.grant(
        consumer=consumer, scenario="underwriting_features", fields=["score"],
        valid_from=today - timedelta(days=1), valid_to=today + timedelta(days=30),
        plan=f"预案-{consumer}: 停止交付并通知召回", actor=ADMIN,
    )  # fmt: skip
    request = filed(registry, consumer, source, grant.id)
    registry.decide(request, approve=True, reviewer=reviewer, comment="同意")

    def write(snapshot: UPath, staging: Path) -> Path:
        shutil.copyfile(snapshot, staging / source.name)
        return staging / source.name

    order = Order(
        request_id=request, consumer=consumer, scenario="underwriting_features",
        scope=Scope("underwriting_features", ("score",)), source=UPath(source),
        folder="underwriting_features", write=write, fingerprint="bench", actor="egress-publisher",
    )  # fmt: skip
    deliver(registry, order, zone)
    [found] = [d for d in registry.deliveries(consumer=consumer) if d.request_id == request]
    return found.id


def populate(home: Path, sessions: int) -> Held:
    """Accounts (half reviewers, half consumers' accounts), deliveries and pending requests."""
    from ycpipelines.foundation.settings import Settings
    from ycpipelines.registry import Registry, default_registry_url

    Registry.upgrade(default_registry_url())
    registry, held = Registry(settings=Settings()), Held()
    registry.bootstrap_admin(ADMIN, ADMIN)
    for i in range(sessions // 2):
        name = f"审核员{i:02d}"
        held.reviewers[name] = account(registry, name, ["reviewer"])
    reviewer, products = next(iter(held.reviewers)), home / "products"
    products.mkdir()
    for c in range(CONSUMERS):
        consumer = f"insurer_{c}"
        source = product(products, f"{consumer}_v1.csv", c)
        delivery = delivered(registry, consumer, source, home / "zone", reviewer)
        grant = registry.authorizations(consumer=consumer)[-1]
        held.pending.append(
            filed(registry, consumer, product(products, f"{consumer}_v2.csv", 99 + c), grant.id)
        )
        for i in range(c, sessions - sessions // 2, CONSUMERS):
            name = f"保险{i:02d}"
            account(registry, name, [f"consumer:{consumer}"])
            held.consumers[name] = delivery
    registry.engine.dispose()
    return held


def started(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    """`ycp console` on a loopback port, its output in `log`, once it answers."""
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "ycpipelines.cli", "console", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/login").status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("the console did not start within 60 s")


def signed_in(base: str, name: str, secret: str | None) -> httpx.Cookies:
    """A session through the pages: password, then the TOTP code for a reviewer."""
    with httpx.Client(base_url=base) as browser:
        token = browser.get("/login").text.split('name="csrf" value="')[1].split('"')[0]
        answer = browser.post("/login", data={"name": name, "password": PASSWORD, "csrf": token})
        if answer.headers.get("location") == "/login/totp":
            page = browser.get("/login/totp").text
            token = page.split('name="csrf" value="')[1].split('"')[0]
            code = pyotp.TOTP(secret or "").at(time.time() + 30)  # after enrolment's step
            answer = browser.post("/login/totp", data={"code": code, "csrf": token})
        if answer.headers.get("location") != "/":
            raise RuntimeError(f"{name} did not sign in ({answer.status_code})")
        return browser.cookies


def served(base: str, cookies: httpx.Cookies, held: Held, consumer: httpx.Cookies) -> dict:
    """Each route, once answered 200 on a real id (else the benchmark stops saying which)."""
    for route in ROUTES:
        own = consumer if route.startswith("/deliveries") else cookies
        some = next(iter(held.consumers.values())) if own is consumer else held.pending[0]
        answer = httpx.get(base + route.replace("{id}", str(some)), cookies=own)
        if answer.status_code != 200:
            raise SystemExit(f"{route} answered {answer.status_code} before the timed part")
    return {route: route for route in ROUTES}


@dataclass
class Tally:
    """Latencies and failures per route of the whole run."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)

    def add(self, route: str, seconds: float, status: int | str) -> None:
        self.latencies.setdefault(route, []).append(seconds)
        if not (isinstance(status, int) and status < 400):
            self.errors[f"{route} {status}"] = self.errors.get(f"{route} {status}", 0) + 1

    def all(self) -> list[float]:
        return [s for found in self.latencies.values() for s in found]

    def routes(self) -> dict[str, dict]:
        return {
            route: {
                "count": len(found),
                "p50_ms": percentile(found, 0.5),
                "p95_ms": percentile(found, 0.95),
            }
            for route, found in self.latencies.items()
        }


async def browse(base: str, who: tuple, routes: dict, held: Held, until: float, tally: Tally):
    """One client until `until`: a reviewer opens the desk and requests, a consumer
    downloads its delivery."""
    cookies, delivery = who
    mine = [r for r in ROUTES if r.startswith("/deliveries") == (delivery is not None)]
    weights = [ROUTES[r] for r in mine]
    async with httpx.AsyncClient(base_url=base, cookies=cookies, timeout=30) as client:
        while time.monotonic() < until:
            route = random.choices(mine, weights)[0]
            some = delivery if delivery is not None else random.choice(held.pending)
            started_at = time.perf_counter()
            try:
                answer = await client.get(routes[route].replace("{id}", str(some)))
                status: int | str = answer.status_code
            except httpx.HTTPError as error:
                status = type(error).__name__
            tally.add(route, time.perf_counter() - started_at, status)


def server_usage(pid: int) -> tuple[float, float]:
    """CPU seconds and peak RSS (MiB) of a live process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    status = Path(f"/proc/{pid}/status").read_text()
    peak = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
    return cpu, peak / 1024


def incidents(log: Path) -> dict[str, int]:
    """The server's unexpected errors by exception type (its log names types, never messages)."""
    found: dict[str, int] = {}
    for kind in re.findall(r"incident \w+: (\w+) at", log.read_text(errors="replace")):
        found[kind] = found.get(kind, 0) + 1
    return found


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000, 1)


def clients_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run(base: str, sessions: list[tuple], routes: dict, held: Held, seconds: float):
    tally = Tally()
    until = time.monotonic() + seconds
    await asyncio.gather(*(browse(base, who, routes, held, until, tally) for who in sessions))
    return tally


def measured(base: str, pid: int, held: Held, seconds: float) -> dict:
    """Sign every account in, then browse for `seconds`; the figures of the run."""
    sessions = [(signed_in(base, n, s), None) for n, s in held.reviewers.items()]
    sessions += [(signed_in(base, n, None), d) for n, d in held.consumers.items()]
    consumer = next(c for c, d in sessions if d is not None)
    routes = served(base, sessions[0][0], held, consumer)
    cpu_before, client_before = server_usage(pid)[0], clients_cpu()
    load_start, wall = os.getloadavg(), time.perf_counter()
    tally = asyncio.run(run(base, sessions, routes, held, seconds))
    wall, latencies = time.perf_counter() - wall, tally.all()
    server_cpu, peak = server_usage(pid)
    return {
        "bench": "console",
        "sessions": len(sessions),
        "requests": len(latencies),
        "requests_per_s": round(len(latencies) / wall, 1),
        "p50_ms": percentile(latencies, 0.50),
        "p95_ms": percentile(latencies, 0.95),
        "p99_ms": percentile(latencies, 0.99),
        "errors": sum(tally.errors.values()),
        "error_kinds": tally.errors,
        "routes": tally.routes(),
        "server_cpu_s": round(server_cpu - cpu_before, 1),
        "server_peak_rss_mib": round(peak),
        "client_cpu_s": round(clients_cpu() - client_before, 1),
        "wall_s": round(wall, 1),
        "load_start": [round(x, 2) for x in load_start],
        "load_end": [round(x, 2) for x in os.getloadavg()],
    }


def main(seconds: float, clients: int, registry_url: str | None) -> None:
    from ycpipelines.ops.serve import free_port

    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "YC_HOME": tmp, "YC_PSEUDONYM_KEY": "bench-pseudonym-key"}
        env.pop("YC_REGISTRY_URL", None)  # never a registry the bench was not given
        if registry_url:
            env["YC_REGISTRY_URL"] = registry_url
        os.environ.clear()
        os.environ.update(env)
        held = populate(Path(tmp), clients)
        port, log = free_port(), Path(tmp) / "console.log"
        server = started(env, port, log)
        try:
            figures = measured(f"http://127.0.0.1:{port}", server.pid, held, seconds)
        finally:
            server.terminate()
            server.wait(timeout=30)
        figures["server_incidents"] = incidents(log)
        figures["registry"] = registry_url.split("+")[0].split(":")[0] if registry_url else "sqlite"
        if figures["server_incidents"]:
            shutil.copyfile(log, Path(tempfile.gettempdir()) / "ycp-bench-console.log")
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument(
        "--registry-url", help="an empty database for the registry [default: embedded SQLite]"
    )
    arguments = parser.parse_args()
    main(arguments.seconds, arguments.clients, arguments.registry_url)
