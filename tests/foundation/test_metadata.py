"""What a step reports of its process: CPU seconds since its start and the peak RSS so far."""

from ycpipelines.foundation.metadata import process_usage


def test_process_usage_reports_the_cpu_and_peak_memory_so_far() -> None:
    before = process_usage()
    assert set(before) == {"ycp/cpu_seconds", "ycp/peak_rss_mib"}
    block = bytearray(64 * 1024 * 1024)  # 64 MiB, touched so they are resident
    for at in range(0, len(block), 4096):
        block[at] = 1
    sum(range(3_000_000))
    after, since = process_usage(), process_usage(before)
    assert after["ycp/cpu_seconds"] > before["ycp/cpu_seconds"] > 0
    assert 0 < since["ycp/cpu_seconds"] < after["ycp/cpu_seconds"]  # this step's share only
    assert after["ycp/peak_rss_mib"] >= max(before["ycp/peak_rss_mib"], 64)
    del block
