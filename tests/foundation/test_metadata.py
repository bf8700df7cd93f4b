"""What a step reports of its own process: CPU seconds and peak RSS, growing with its work."""

from ycpipelines.foundation.metadata import process_usage


def test_process_usage_reports_the_cpu_and_peak_memory_so_far() -> None:
    before = process_usage()
    assert set(before) == {"ycp/cpu_seconds", "ycp/peak_rss_mib"}
    block = bytearray(64 * 1024 * 1024)  # 64 MiB, touched so they are resident
    for at in range(0, len(block), 4096):
        block[at] = 1
    sum(range(3_000_000))
    after = process_usage()
    assert after["ycp/cpu_seconds"] > before["ycp/cpu_seconds"] > 0
    assert after["ycp/peak_rss_mib"] >= max(before["ycp/peak_rss_mib"], 64)
    del block
