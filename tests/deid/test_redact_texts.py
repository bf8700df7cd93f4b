"""Free text at lake speed: the pooled redaction equals one-by-one redaction, in order."""

import multiprocessing
import signal

from ycpipelines.deid.analyzer import PARALLEL_FROM, close, redact, redact_texts

ID = "640122197203045511"


def test_pooled_redaction_keeps_order_and_typed_tags() -> None:
    texts = [
        f"患者{'张王李赵刘'[i % 5]}{'伟芳娜敏静'[i // 5 % 5]},身份证{ID if i % 3 == 0 else ''}"
        f"电话1391234{i:04d},第{i}次复诊。"
        for i in range(PARALLEL_FROM + 7)
    ]
    try:
        pooled = redact_texts(texts)
    finally:
        close()
    assert pooled == [redact(t) for t in texts]
    assert pooled[0] == "患者<PERSON>,身份证<CN_RESIDENT_ID>电话<PHONE_NUMBER>,第0次复诊。"
    assert all(ID not in t and "1391234" not in t for t in pooled)
    assert pooled[-1].endswith(f"第{len(texts) - 1}次复诊。")


def redact_in_a_child(count: int) -> None:
    redact_texts([f"患者张伟,电话1391234{i:04d}。" for i in range(count)])


def test_a_spawned_process_that_used_the_workers_still_exits() -> None:
    """Dagster steps and benchmark contenders are spawned children: their workers must not
    keep them alive (an executor's workers were joined forever at exit)."""
    child = multiprocessing.get_context("spawn").Process(
        target=redact_in_a_child, args=(PARALLEL_FROM + 1,)
    )
    # A process may be started with SIGTERM ignored (by its launcher or a library); its children,
    # the pool's workers included, inherit that, and the pool stops its workers with SIGTERM.
    inherited = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        child.start()
    finally:
        signal.signal(signal.SIGTERM, inherited)
    child.join(timeout=300)
    alive = child.is_alive()
    if alive:
        child.kill()
    assert not alive and child.exitcode == 0
