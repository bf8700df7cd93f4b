"""Verifying the audit chain (审计核验): the keyed chain, its signed checkpoints, and the state
tables against the entries that changed them. Each failed check says what was found and since
when."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ycpipelines.registry.anchor import Checkpoint
from ycpipelines.registry.models import ApprovalRequest, AuditEntry, Authorization, User

GENESIS = "0" * 64
LAG = timedelta(seconds=60)  # how long an entry may wait for its checkpoint (in-flight writers)
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
    subject: str = ""  # the row a problem is about, e.g. `request/3`, or `entry/7` (chain)


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
                    f"entry/{entry.id}",
                )
            ]
        if seal(entry) != entry.hash:
            return [
                Problem(
                    "chain",
                    entry.at.isoformat(),
                    f"entry {entry.id} does not verify under the audit key: it was edited, or the "
                    "chain was recomputed without the key",
                    f"entry/{entry.id}",
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


def check_coverage(
    entries: list[AuditEntry], covered: Callable[[int], bool], now: datetime
) -> list[Problem]:
    """Every entry older than `LAG` must lie in a signed range: an entry appended by someone
    holding the chain key, but not the signing key, lies in none."""
    for entry in entries:
        at = entry.at if entry.at.tzinfo else entry.at.replace(tzinfo=UTC)
        if now - at > LAG and not covered(entry.id):
            message = f"entry {entry.id} is in no signed checkpoint: the platform did not write it"
            return [Problem("checkpoint", entry.at.isoformat(), message)]
    return []


def newest(entries: Iterable[AuditEntry], actions: Iterable[str]) -> dict[str, AuditEntry]:
    """Each subject's newest entry among `actions`."""
    wanted, found = set(actions), {}
    for entry in entries:
        if entry.action in wanted:
            found[entry.subject] = entry
    return found


def recorded(row: ApprovalRequest | Authorization | User) -> tuple[str, dict, str, dict]:
    """A row's subject, the fields its creating entry recorded, that entry's action, and the
    row's own values of those fields."""
    if isinstance(row, ApprovalRequest):
        keys = ("scenario", "consumer", "content_hash", "authorization_id", "launched_by")
        return f"request/{row.id}", {}, "egress.requested", {k: getattr(row, k) for k in keys}
    if isinstance(row, Authorization):
        values = {k: getattr(row, k) for k in ("consumer", "scenario", "fields")}
        values |= {"valid_from": row.valid_from.isoformat(), "valid_to": row.valid_to.isoformat()}
        return f"authorization/{row.id}", {"actor": row.granted_by}, "auth.granted", values
    values = {"roles": row.roles, "os_account": row.os_account, "demo": row.demo}
    return f"user/{row.name}", {}, "user.roles", values


def as_recorded(row: ApprovalRequest | Authorization | User, entry: AuditEntry | None) -> bool:
    """Whether a row holds what its newest creating entry (`recorded(row)`'s action) recorded."""
    _, actor, _, values = recorded(row)
    if entry is None or {k: entry.detail.get(k) for k in values} != values:
        return False
    return not actor or actor["actor"] == entry.actor


def check_rows(entries: list[AuditEntry], rows: list) -> list[Problem]:
    """Each row must hold what the newest entry of its kind recorded, and each subject the
    chain created must still have its row: an UPDATE or DELETE by hand shows."""
    problems, seen = [], set()
    creating = {a: newest(entries, [a]) for a in ("egress.requested", "auth.granted", "user.roles")}
    for row in rows:
        subject, _, action, _ = recorded(row)
        seen.add(subject)
        if not as_recorded(row, creating[action].get(subject)):
            problems.append(
                Problem(
                    "state",
                    "-",
                    f"{subject} is not what its audit entry {action} recorded",
                    subject,
                )
            )
    for action, subjects in creating.items():
        problems += [
            Problem(
                "state",
                entry.at.isoformat(),
                f"{subject} was deleted ({action} records it)",
                subject,
            )
            for subject, entry in subjects.items()
            if subject not in seen
        ]
    return problems


def check_states(entries: list[AuditEntry], requests: list, grants: list, users: list) -> list:
    """Statuses must be what the chain's entries left them, and rows what they recorded."""
    problems = check_rows(entries, [*requests, *grants, *users])
    for prefix, rows, states in (
        ("request", requests, REQUEST_STATES),
        ("authorization", grants, AUTHORIZATION_STATES),
    ):
        chained = newest(entries, states)
        for row in rows:
            entry = chained.get(f"{prefix}/{row.id}")
            expected = states[entry.action] if entry else "unrecorded"
            if expected != row.status:
                problems.append(
                    Problem(
                        "state",
                        "-",
                        f"{prefix} {row.id} is {row.status} in its table, but the audit chain "
                        f"leaves it {expected}",
                        f"{prefix}/{row.id}",
                    )
                )
    deciders = newest(entries, ("egress.approved", "egress.rejected"))
    problems += [
        Problem(
            "state",
            "-",
            f"request {r.id} names a reviewer its decision entry does not",
            f"request/{r.id}",
        )
        for r in requests
        if r.reviewer and getattr(deciders.get(f"request/{r.id}"), "actor", None) != r.reviewer
    ]
    return problems
