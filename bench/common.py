"""Run each contender in its own process and report wall time, that process's peak RSS and its
CPU time (on a shared machine, CPU time shows what a contender costs when wall time is noisy)."""

import json
import multiprocessing
import resource
import time
from collections.abc import Callable
from typing import Any


def _measure(target: Callable[..., int], args: tuple, queue: multiprocessing.Queue) -> None:
    try:
        started = time.perf_counter()
        rows = target(*args)
        seconds = time.perf_counter() - started
        usage = resource.getrusage(resource.RUSAGE_SELF)
        # Children the contender waited for (a worker pool it closed) count too: their CPU
        # time is added and the largest of their peaks stands beside its own.
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        queue.put(
            {
                "rows": rows,
                "seconds": seconds,
                "peak_mib": max(usage.ru_maxrss, children.ru_maxrss) / 1024,
                "cpu_seconds": sum(
                    u.ru_utime + u.ru_stime for u in (usage, children)
                ),  # all threads
            }
        )
    except BaseException as error:
        queue.put({"error": f"{type(error).__name__}: {error}"})
        raise


def measure(target: Callable[..., int], *args: Any) -> dict:
    """Wall time, rows, peak RSS and CPU time of `target(*args)` in a fresh process."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_measure, args=(target, args, queue))
    process.start()
    result = queue.get()
    process.join()
    if "error" in result:
        raise RuntimeError(f"{target.__name__} failed: {result['error']}")
    result["rows_per_s"] = result["rows"] / result["seconds"]
    return result


def report(name: str, ours: dict, peer: dict, peer_name: str, **extra: Any) -> None:
    """One JSON line: both contenders' rows/s, peak MiB and CPU seconds, and the ratios
    (speed and CPU: how many times ours is cheaper; memory: ours over the peer's)."""
    print(
        json.dumps(
            {
                "bench": name,
                "peer": peer_name,
                "rows": ours["rows"],
                "ycp_rows_per_s": round(ours["rows_per_s"]),
                "peer_rows_per_s": round(peer["rows_per_s"]),
                "speed_ratio": round(ours["rows_per_s"] / peer["rows_per_s"], 2),
                "ycp_peak_mib": round(ours["peak_mib"]),
                "peer_peak_mib": round(peer["peak_mib"]),
                "memory_ratio": round(ours["peak_mib"] / peer["peak_mib"], 2),
                # CPU time beside wall time: on a busy machine the wall ratio is noisy
                "ycp_cpu_s": round(ours["cpu_seconds"], 1),
                "peer_cpu_s": round(peer["cpu_seconds"], 1),
                "cpu_ratio": round(peer["cpu_seconds"] / ours["cpu_seconds"], 2),
                **extra,
            }
        )
    )
