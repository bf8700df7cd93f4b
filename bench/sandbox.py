"""数据可用不可见 benchmark: private set intersection and a differentially private aggregate.

PSI: an insurer's 100,000 applicants (half of them residents) against 1,000,000 residents,
platform and insurer in separate processes over a Unix socket: wall time, bytes exchanged and
each side's peak RSS. DP: one aggregate query over 5,000,000 visits with privacy (contribution
bound, OpenDP noise, aggregation threshold) against the same query without, in the same run.
Usage: python bench/sandbox.py [RESIDENTS] [APPLICANTS] [VISITS]
"""

import json
import multiprocessing
import resource
import socket
import sys
import tempfile
from pathlib import Path

from common import measure

from ycpipelines.sandbox.psi import Channel, client_exchange, connected, server_exchange

SPEC = {
    "dataset": "outpatient_visits",
    "dimensions": ["county", "gender"],
    "measures": [{"kind": "count"}, {"kind": "mean", "column": "fee", "lower": 0, "upper": 2000}],
    "epsilon": 0.5,
}


def resident(i: int) -> str:
    return f"6401{i:014d}"


def platform(path: str, residents: int, applicants: int, out: multiprocessing.Queue) -> None:
    ids = [resident(i) for i in range(residents)]
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(path)
        listener.listen()
        out.put("ready")
        conn, _ = listener.accept()
        with conn:
            channel = Channel(conn)
            server_exchange(channel, ids, applicants)
    out.put({"peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


def insurer(path: str, residents: int, applicants: int) -> int:
    half = applicants // 2
    ids = [resident(i * (residents // half)) for i in range(half)]
    ids += [f"6501{i:014d}" for i in range(applicants - half)]
    with connected(Path(path)) as channel:
        matched = client_exchange(channel, ids)
        exchanged = channel.sent + channel.received
    if len(matched) != half:
        raise AssertionError(f"{len(matched)} matched, {half} expected")
    return exchanged


def psi_figures(residents: int, applicants: int) -> dict:
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/psi.sock"
        queue = context.Queue()
        server = context.Process(target=platform, args=(path, residents, applicants, queue))
        server.start()
        assert queue.get() == "ready"
        client = measure(insurer, path, residents, applicants)
        server_peak = queue.get()["peak_mib"]
        server.join()
    return {
        "psi_residents": residents,
        "psi_applicants": applicants,
        "psi_seconds": round(client["seconds"], 1),  # connect to intersection, both sides' work
        "psi_bytes": client["rows"],
        "psi_platform_peak_mib": round(server_peak),
        "psi_insurer_peak_mib": round(client["peak_mib"]),
    }


def visits(root: Path, rows: int) -> None:
    import duckdb

    folder = root / "safe" / "outpatient_visits" / "bureau=health" / "date=all"
    folder.mkdir(parents=True)
    duckdb.connect().execute(
        f"""COPY (SELECT md5(CAST(i % {rows // 4} AS VARCHAR)) AS person_pid,
                   ['兴庆区', '西夏区', '金凤区', '永宁县', '贺兰县', '灵武市'][i % 6 + 1]
                       AS county,
                   CAST(i % 2 + 1 AS VARCHAR) AS gender,
                   CAST((i * 7919) % 3000 AS DECIMAL(14, 2)) AS fee
            FROM range({rows}) t(i)) TO '{folder / "data.parquet"}' (FORMAT parquet)"""
    )


def private(root: str) -> int:
    from ycpipelines.foundation.lake import Lake
    from ycpipelines.sandbox.query import QuerySpec, release

    return release(Lake(Path(root)), QuerySpec.model_validate(SPEC)).cells


def plain(root: str) -> int:
    from ycpipelines.foundation.lake import duck

    with duck() as con:
        return len(
            con.execute(
                "SELECT county, gender, count(*), avg(fee) FROM "
                f"read_parquet('{root}/safe/outpatient_visits/*/*/data.parquet') GROUP BY ALL"
            ).fetchall()
        )


def main(residents: int, applicants: int, rows: int) -> None:
    figures = psi_figures(residents, applicants)
    print(
        f"PSI {applicants:,} applicants vs {residents:,} residents: {figures['psi_seconds']} s, "
        f"{figures['psi_bytes'] / 2**20:.1f} MiB exchanged, peak {figures['psi_platform_peak_mib']}"
        f" MiB platform / {figures['psi_insurer_peak_mib']} MiB insurer"
    )
    with tempfile.TemporaryDirectory() as tmp:
        visits(Path(tmp), rows)
        ours = measure(private, tmp)
        peer = measure(plain, tmp)
    if ours["rows"] != peer["rows"]:
        raise AssertionError(f"{ours['rows']} cells released, {peer['rows']} without privacy")
    print(
        f"DP query over {rows:,} visits: {ours['seconds']:.2f} s with privacy vs "
        f"{peer['seconds']:.2f} s without ({ours['seconds'] / peer['seconds']:.2f}× the latency); "
        f"peak {ours['peak_mib']:.0f} vs {peer['peak_mib']:.0f} MiB"
    )
    print(
        json.dumps(
            {
                "bench": "sandbox",
                **figures,
                "dp_rows": rows,
                "dp_rows_per_s": round(rows / ours["seconds"]),
                "plain_rows_per_s": round(rows / peer["seconds"]),
                "dp_latency_ratio": round(ours["seconds"] / peer["seconds"], 2),
                "dp_peak_mib": round(ours["peak_mib"]),
                "plain_peak_mib": round(peer["peak_mib"]),
            }
        )
    )


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]] + [1_000_000, 100_000, 5_000_000][len(sys.argv) - 1 :]
    main(*args[:3])
