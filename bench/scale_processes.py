"""The served processes and every process below them, read from /proc (Linux): the peak RSS of
any one of them (its VmHWM, sampled until it exits) and the CPU time of them all."""

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")


def stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name (which may hold spaces): state is field 0."""
    text = (PROC / str(pid) / "stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def parents() -> dict[int, int]:
    found = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            try:
                found[int(entry.name)] = int(stat_fields(int(entry.name))[1])
            except (OSError, ValueError, IndexError):
                continue  # gone meanwhile
    return found


def descendants(roots: list[int], tree: dict[int, int]) -> set[int]:
    """The roots and every process below them in `tree` (pid → parent)."""
    children: dict[int, list[int]] = {}
    for pid, parent in tree.items():
        children.setdefault(parent, []).append(pid)
    found, todo = set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, []))
    return found


def peak_kib(pid: int) -> int:
    """The process's peak resident set (VmHWM) in KiB; 0 once it has gone."""
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def own_cpu_seconds(pid: int) -> float:
    """User + system time of the process itself; 0 once it has gone."""
    try:
        fields = stat_fields(pid)
    except (OSError, ValueError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def command_of(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()[:200]
    except OSError:
        return ""


def role(pid: int, parent: int) -> str:
    """Which served process this is: the code server spawns a process per run (its steps run
    in it), which may spawn its own (a worker pool)."""
    command, above = command_of(pid), command_of(parent)
    if "multiprocessing.spawn" in command:
        return "a run's subprocess" if "multiprocessing.spawn" in above else "run"
    for part, name in [("code-server", "code server"), ("api grpc", "code server (gRPC)")]:
        if part in command:
            return name
    return "daemon" if "dagster-daemon" in command else command.split(" ", 1)[0]


@dataclass
class Sampler:
    """Every `interval` seconds, the peak RSS of each process under `roots` (a thread)."""

    roots: list[int]
    interval: float = 0.5
    peak_mib: float = 0.0
    peak_role: str = ""
    cpu: dict[int, float] = field(default_factory=dict)  # the latest CPU seconds of each pid
    stopped: threading.Event = field(default_factory=threading.Event)

    @property
    def cpu_seconds(self) -> float:
        """CPU time of every process seen (short by at most an interval for each that ended)."""
        return sum(self.cpu.values())

    def sample(self) -> None:
        tree = parents()
        for pid in descendants(self.roots, tree):
            mib = peak_kib(pid) / 1024
            if mib > self.peak_mib:
                self.peak_mib, self.peak_role = mib, role(pid, tree.get(pid, 0))
            self.cpu[pid] = max(self.cpu.get(pid, 0.0), own_cpu_seconds(pid))

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            self.sample()

    def __enter__(self) -> "Sampler":
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join()
        self.sample()
