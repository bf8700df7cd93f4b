"""脱敏 benchmark: free-text redaction of outpatient notes like the demo's.

ycpipelines' `redact_texts` (chunks over a process per core, the analyzer loaded once per
worker) against the same redaction one note at a time in one process, measured in the same
run; on the notes both saw, the redacted texts must be identical. Notes are distinct, as the
de-identification stage passes them (one call per column with the distinct texts).
Usage: python bench/redact.py [NOTES] [BASELINE_NOTES]
"""

import json
import random
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from common import measure, report

TODAY = date(2025, 6, 30)


def notes(count: int, seed: int = 7) -> list[str]:
    """Distinct notes as `ycp demo` writes them (names, IDs, phones, addresses)."""
    from ycpipelines.demo.people import person
    from ycpipelines.demo.sources import DIAGNOSES, note

    rng = random.Random(seed)
    made: dict[str, None] = {}
    while len(made) < count:
        made[note(rng, person(rng, TODAY), rng.choice(DIAGNOSES)[1], TODAY)] = None
    return list(made)


def pooled(texts: list[str], target: Path) -> int:
    """All texts on fresh workers (`measure` times it, start-up included); the time of the
    texts after the first batch is the warm workers' rate, a large partition's steady state."""
    from ycpipelines.deid.analyzer import PARALLEL_FROM, close, redact_texts

    first = redact_texts(texts[:PARALLEL_FROM])  # starts the workers
    started = time.perf_counter()
    rest = redact_texts(texts[PARALLEL_FROM:])
    warm_seconds = time.perf_counter() - started
    close()  # workers exit, so their peak memory is counted below
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    target.write_text(
        json.dumps(
            {
                "redacted": first + rest,
                "worker_peak_mib": workers.ru_maxrss / 1024,
                "worker_cpu_s": workers.ru_utime + workers.ru_stime,
                "warm_notes_per_s": (len(texts) - PARALLEL_FROM) / warm_seconds,
            }
        )
    )
    return len(texts)


def one_by_one(texts: list[str], target: Path) -> int:
    from ycpipelines.deid.analyzer import redact

    redacted = [redact(t) for t in texts]
    target.write_text(json.dumps({"redacted": redacted}))
    return len(redacted)


def main(count: int, baseline_count: int) -> None:
    texts = notes(count)
    with tempfile.TemporaryDirectory() as tmp:
        ours_file, peer_file = Path(tmp) / "ours.json", Path(tmp) / "peer.json"
        ours = measure(pooled, texts, ours_file)
        peer = measure(one_by_one, texts[:baseline_count], peer_file)
        mine = json.loads(ours_file.read_text())
        theirs = json.loads(peer_file.read_text())["redacted"]
    assert mine["redacted"][:baseline_count] == theirs, "pooled and one-by-one redactions differ"
    tags = sum("<" in t for t in mine["redacted"]) / len(texts)
    cpu_ms = mine["worker_cpu_s"] / len(texts) * 1000  # incl. the workers' start-up
    warm = mine["warm_notes_per_s"]
    print(
        f"pooled:     {ours['rows_per_s']:,.0f} notes/s ({ours['rows']:,} notes, "
        f"{ours['seconds']:.1f} s incl. worker start), peak {ours['peak_mib']:.0f} MiB + "
        f"{mine['worker_peak_mib']:.0f} MiB per worker; workers' CPU {cpu_ms:.2f} ms per note; "
        f"warm workers {warm:,.0f} notes/s"
    )
    print(
        f"one by one: {peer['rows_per_s']:,.0f} notes/s ({peer['rows']:,} notes), "
        f"peak {peer['peak_mib']:.0f} MiB; ratio {ours['rows_per_s'] / peer['rows_per_s']:.2f}"
    )
    report(
        "redact",
        ours,
        peer,
        "presidio one note at a time, one process",
        notes_per_s=round(ours["rows_per_s"]),
        warm_notes_per_s=round(warm),
        worker_peak_mib=round(mine["worker_peak_mib"]),
        worker_cpu_ms_per_note=round(cpu_ms, 3),
        notes_with_tags=round(tags, 3),
    )


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 50_000,
        int(sys.argv[2]) if len(sys.argv) > 2 else 5_000,
    )
