"""Verifying the audit chain (审计核验): the keyed chain, its signed checkpoints, and the state
tables against the entries that changed them. Each failed check says what was found and since
when."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ycpipelines.registry.anchor import Checkpoint
from ycpipelines.registry.models import ApprovalRequest, AuditEntry, Authorization, User

GENESIS = "0" * 64
REQUEST_STATES = {
    "egress.requested": "pending",
    "egress.approved": "approved",
    "egress.rejected": "rejected",
    "egress.superseded": "superseded",
    "egress.voided": "voided",
    "egress.published": "published",
}
AUTHORIZATION_STATES = {
    "auth.granted": "active",
    "auth.active": "active",
    "auth.suspended": "suspended",
    "auth.revoked": "revoked",
}


@dataclass(frozen=True)
class Problem:
    """One failed check: which, since when (an entry's or a checkpoint's time), and what."""

    check: str
    since: str
    message: str


@dataclass(frozen=True)
class AuditVerdict:
    entries: int
    head: tuple[int, str] | None
    checkpoint: Checkpoint | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_chain(entries: list[AuditEntry], seal: Callable[[AuditEntry], str]) -> list[Problem]:
    """The first entry whose link or keyed hash does not verify."""
    prev = GENESIS
    for entry in entries:
        if entry.prev_hash != prev:
            return [
                Problem(
                    "chain",
                    entry.at.isoformat(),
                    f"entry {entry.id} does not follow its predecessor: an entry before it was "
                    "deleted or rewritten",
                )
            ]
        if seal(entry) != entry.hash:
            return [
                Problem(
                    "chain",
                    entry.at.isoformat(),
                    f"entry {entry.id} does not verify under the audit key: it was edited, or the "
                    "chain was recomputed without the key",
                )
            ]
        prev = entry.hash
    return []


def check_checkpoints(
    entries: list[AuditEntry], points: list[Checkpoint], bad: list[int]
) -> tuple[Checkpoint | None, list]:
    """Every signed checkpoint must name an entry that still exists with the same hash (read
    the checkpoints before the entries: a checkpoint is written after its entry commits)."""
    problems = [
        Problem("checkpoint", "-", f"checkpoint line {n} has no valid signature") for n in bad
    ]
    by_id = {e.id: e for e in entries}
    last_id = entries[-1].id if entries else 0
    for point in sorted(points, key=lambda p: p.entry):
        found = by_id.get(point.entry)
        if found is None and point.entry > last_id:
            problems.append(
                Problem(
                    "checkpoint",
                    point.at,
                    f"the log ends at entry {last_id} but a checkpoint signed at {point.at} "
                    f"names entry {point.entry}: its tail was cut",
                )
            )
            break
        if found is None or found.hash != point.hash:
            problems.append(
                Problem(
                    "checkpoint",
                    point.at,
                    f"entry {point.entry} differs from the checkpoint signed at {point.at}: "
                    "the chain was rewritten",
                )
            )
            break
    if entries and not points:
        problems.append(
            Problem("checkpoint", "-", "no signed checkpoint names this chain: its anchor is gone")
        )
    newest = max(points, key=lambda p: p.entry, default=None)
    return newest, problems


def newest_states(entries: Iterable[AuditEntry], states: dict[str, str]) -> dict[str, str]:
    """The state each subject's newest state-changing entry leaves it in."""
    found: dict[str, str] = {}
    for entry in entries:
        if entry.action in states:
            found[entry.subject] = states[entry.action]
    return found


def check_states(
    entries: list[AuditEntry],
    requests: list[ApprovalRequest],
    grants: list[Authorization],
    users: list[User],
) -> list[Problem]:
    """State columns must be what the chain's entries left them: an UPDATE by hand shows."""
    problems = []
    for prefix, rows, states in (
        ("request", requests, REQUEST_STATES),
        ("authorization", grants, AUTHORIZATION_STATES),
    ):
        chained = newest_states(entries, states)
        for row in rows:
            expected = chained.get(f"{prefix}/{row.id}")
            if expected != row.status:
                problems.append(
                    Problem(
                        "state",
                        "-",
                        f"{prefix} {row.id} is {row.status} in its table, but the audit chain "
                        f"leaves it {expected or 'unrecorded'}",
                    )
                )
    roles = {e.subject: e.detail.get("roles") for e in entries if e.action == "user.roles"}
    problems += [
        Problem("state", "-", f"the roles of {u.name} are not the ones the audit chain granted")
        for u in users
        if roles.get(f"user/{u.name}") != u.roles
    ]
    return problems
