"""Console sign-in (身份鉴别, GB/T 22239-2019 level 3), attacked: weak passwords, guessed
accounts, guessed passwords and codes until the lockout, replayed codes, stolen and forged
sessions, a stage skipped, demo accounts in production; the audit chain holds every event and
never a password, hash, code or secret."""

import stat
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.orm import Session

from ycpipelines.foundation.settings import Settings
from ycpipelines.registry import Registry, RegistryError
from ycpipelines.registry import credentials as module
from ycpipelines.registry.credential_rows import reseal
from ycpipelines.registry.credentials import LoginRefused, Stage, token_hash
from ycpipelines.registry.models import Credential

from helpers import ADMIN, accounts, upgraded

REVIEWER, OPERATOR = "王审核", "赵运营"
GOOD, BETTER = "Correct-Horse-42", "Battery+Staple-77"  # meet the policy
T0 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)


class Clock:
    """The credentials module's `now`, moved by hand."""

    def __init__(self) -> None:
        self.at = T0

    def __call__(self) -> datetime:
        return self.at

    def move(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    frozen = Clock()
    monkeypatch.setattr(module, "now", frozen)
    return frozen


def make_registry(url: str) -> Registry:
    settings = Settings(console_lockout_failures=3, console_lockout_minutes=15)
    registry = Registry(upgraded(url), settings=settings)
    accounts(registry, {REVIEWER: ["reviewer"], OPERATOR: ["operator"]})
    return registry


@pytest.fixture
def registry(tmp_path: Path, clock: Clock) -> Iterator[Registry]:
    """A fresh SQLite registry (lockout after 3 failures for 15 minutes) with an admin, a
    reviewer (needs TOTP) and an operator (does not)."""
    store = make_registry(f"sqlite:///{tmp_path / 'registry.db'}")
    yield store
    store.engine.dispose()


def entries(registry: Registry, action: str) -> list:
    return [e for e in registry.audit_log() if e.action == action]


def assert_no_leak(registry: Registry, *secrets: str) -> None:
    """No audit entry holds any of `secrets`, nor any password hash."""
    for entry in registry.audit_log():
        written = f"{entry.actor} {entry.subject} {entry.detail}"
        assert "$argon2" not in written
        for secret in secrets:
            assert secret not in written, entry.action


def code(secret: str, at: datetime) -> str:
    return pyotp.TOTP(secret).at(at)


def enrolled(registry: Registry, clock: Clock, name: str = REVIEWER) -> str:
    """`name` with its own password and a confirmed TOTP secret (returned)."""
    registry.set_password(name, GOOD, ADMIN)
    registry.change_password(name, GOOD, BETTER)
    secret = registry.begin_totp(name)
    registry.confirm_totp(name, code(secret, clock.at))
    clock.move(seconds=30)
    return secret


def test_passwords_that_break_the_policy_are_refused(registry: Registry) -> None:
    with pytest.raises(RegistryError, match="at least 12 characters") as short:
        registry.set_password(OPERATOR, "Ab1!", ADMIN)
    assert "Ab1!" not in str(short.value)
    with pytest.raises(RegistryError, match="at least 3 of lower-case letters"):
        registry.set_password(OPERATOR, "onlylowercaseletters", ADMIN)
    with pytest.raises(RegistryError, match="not containing the account name"):
        registry.set_password("operator_x", "Operator_X-2026!", ADMIN)
    with pytest.raises(RegistryError, match="needs the admin role"):
        registry.set_password(REVIEWER, GOOD, OPERATOR)  # another account's password
    with pytest.raises(RegistryError, match="no account"):
        registry.set_password("nobody", GOOD, ADMIN)
    assert any(
        "set the password" in e.detail["reason"] for e in entries(registry, "access.refused")
    )
    registry.set_password(OPERATOR, GOOD, ADMIN)
    with pytest.raises(RegistryError, match="differ from the old one"):
        registry.change_password(OPERATOR, GOOD, GOOD)
    assert_no_leak(registry, GOOD, "Ab1!", "onlylowercaseletters", "Operator_X-2026!")


def test_a_wrong_password_reads_as_an_unknown_account(registry: Registry) -> None:
    registry.set_password(OPERATOR, GOOD, ADMIN)
    with pytest.raises(LoginRefused) as wrong:
        registry.authenticate(OPERATOR, "Wrong-Password-1")
    with pytest.raises(LoginRefused) as unknown:
        registry.authenticate("zhangsan_guess", GOOD)
    with pytest.raises(LoginRefused) as no_password:
        registry.authenticate(REVIEWER, GOOD)  # an account with no password set
    assert str(wrong.value) == str(unknown.value) == str(no_password.value)
    failed = entries(registry, "login.failed")
    assert [e.subject for e in failed] == [f"user/{OPERATOR}", "user/(unknown)", f"user/{REVIEWER}"]
    assert failed[1].detail == {"reason": "unknown account", "name": "z***"}
    assert_no_leak(registry, GOOD, "Wrong-Password-1", "zhangsan_guess")


def test_an_admin_s_password_is_changed_at_first_sign_in_and_after_90_days(
    registry: Registry, clock: Clock
) -> None:
    registry.set_password(OPERATOR, GOOD, ADMIN)
    assert registry.authenticate(OPERATOR, GOOD) is Stage.CHANGE
    with pytest.raises(LoginRefused):
        registry.change_password(OPERATOR, "Not-The-Old-One-1", BETTER)
    assert registry.stage_after_password(OPERATOR) is Stage.CHANGE
    registry.change_password(OPERATOR, GOOD, BETTER)
    assert registry.stage_after_password(OPERATOR) is Stage.FULL
    assert registry.authenticate(OPERATOR, BETTER) is Stage.FULL
    clock.move(days=91)
    assert registry.authenticate(OPERATOR, BETTER) is Stage.CHANGE
    registry.set_password(OPERATOR, "Self-Chosen-Pass-9", OPERATOR)  # self-service: no change
    assert registry.authenticate(OPERATOR, "Self-Chosen-Pass-9") is Stage.FULL
    by = [e.detail for e in entries(registry, "user.password_set")]
    assert by == [{"by": "admin", "must_change": True}, {"by": "self", "must_change": False}]
    assert len(entries(registry, "user.password_changed")) == 1
    assert_no_leak(registry, GOOD, BETTER, "Self-Chosen-Pass-9", "Not-The-Old-One-1")


def test_consecutive_failures_lock_the_account_even_against_the_right_password(
    registry: Registry, clock: Clock
) -> None:
    registry.set_password(OPERATOR, GOOD, ADMIN)
    for _ in range(2):
        with pytest.raises(LoginRefused):
            registry.authenticate(OPERATOR, "Guess-Number-0001")
    registry.authenticate(OPERATOR, GOOD)  # a success resets the count
    for _ in range(3):
        with pytest.raises(LoginRefused):
            registry.authenticate(OPERATOR, "Guess-Number-0002")
    assert len(entries(registry, "login.locked")) == 1
    with pytest.raises(LoginRefused):
        registry.authenticate(OPERATOR, GOOD)  # locked: the right password is refused too
    clock.move(minutes=14)
    with pytest.raises(LoginRefused):
        registry.authenticate(OPERATOR, GOOD)
    assert [e.detail["reason"] for e in entries(registry, "login.failed")][-2:] == ["locked"] * 2
    assert len(entries(registry, "login.locked")) == 1, "locking is audited once"
    clock.move(minutes=2)
    assert registry.authenticate(OPERATOR, GOOD) is Stage.CHANGE
    assert_no_leak(registry, GOOD, "Guess-Number-0001", "Guess-Number-0002")


def test_totp_wrong_replayed_and_right_codes(registry: Registry, clock: Clock) -> None:
    registry.set_password(REVIEWER, GOOD, ADMIN)
    assert registry.authenticate(REVIEWER, GOOD) is Stage.CHANGE
    registry.change_password(REVIEWER, GOOD, BETTER)
    assert registry.stage_after_password(REVIEWER) is Stage.ENROL
    assert registry.authenticate(REVIEWER, BETTER) is Stage.ENROL, "a reviewer needs TOTP"
    secret = registry.begin_totp(REVIEWER)
    with pytest.raises(LoginRefused):
        registry.confirm_totp(REVIEWER, code(secret, clock.at - timedelta(minutes=5)))
    registry.confirm_totp(REVIEWER, code(secret, clock.at))
    with pytest.raises(RegistryError, match="cannot enrol"):
        registry.begin_totp(REVIEWER)  # a confirmed factor is not replaced by whoever signs in
    clock.move(seconds=30)

    assert registry.authenticate(REVIEWER, BETTER) is Stage.PASSWORD
    with pytest.raises(LoginRefused):
        registry.verify_totp(REVIEWER, "000000" if code(secret, clock.at) != "000000" else "1")
    used = code(secret, clock.at)
    assert registry.verify_totp(REVIEWER, used) is Stage.FULL
    with pytest.raises(LoginRefused):
        registry.verify_totp(REVIEWER, used)  # the same code again, within its window
    with pytest.raises(LoginRefused):
        registry.verify_totp(REVIEWER, code(secret, clock.at - timedelta(seconds=30)))  # older
    clock.move(seconds=30)
    assert registry.verify_totp(REVIEWER, code(secret, clock.at)) is Stage.FULL
    reasons = [e.detail["reason"] for e in entries(registry, "login.failed")]
    assert reasons == ["enrolment code", "code", "replayed code", "replayed code"]
    assert [e.action for e in registry.history(f"user/{REVIEWER}")].count("totp.enrolled") == 1
    assert_no_leak(registry, GOOD, BETTER, secret, used)


def test_an_enrolled_account_s_expired_password_is_changed_only_after_its_code(
    registry: Registry, clock: Clock
) -> None:
    secret = enrolled(registry, clock)
    clock.move(days=91)
    assert registry.authenticate(REVIEWER, BETTER) is Stage.PASSWORD, "the code comes first"
    token = registry.open_session(REVIEWER, Stage.PASSWORD)
    with pytest.raises(RegistryError, match="must change the password"):
        registry.advance_session(token, Stage.FULL)
    assert registry.verify_totp(REVIEWER, code(secret, clock.at)) is Stage.CHANGE
    token = registry.advance_session(token, Stage.CHANGE)
    registry.change_password(REVIEWER, BETTER, GOOD)
    assert registry.stage_after_password(REVIEWER) is Stage.FULL
    assert registry.console_session(registry.advance_session(token, Stage.FULL)) is not None


def test_code_guesses_behind_a_known_password_still_lock(registry: Registry, clock: Clock) -> None:
    secret = enrolled(registry, clock)
    wrong = f"{(int(code(secret, clock.at)) + 1) % 1_000_000:06d}"
    for _ in range(3):  # the password is right every time; only the code is guessed
        assert registry.authenticate(REVIEWER, BETTER) is Stage.PASSWORD
        with pytest.raises(LoginRefused):
            registry.verify_totp(REVIEWER, wrong)
    assert len(entries(registry, "login.locked")) == 1
    with pytest.raises(LoginRefused):
        registry.verify_totp(REVIEWER, code(secret, clock.at))


def test_the_totp_secret_is_encrypted_at_rest(registry: Registry, clock: Clock) -> None:
    secret = enrolled(registry, clock)
    with registry.engine.connect() as conn:
        stored = conn.execute(
            text('SELECT totp_secret, password_hash FROM credentials WHERE "user" = :n'),
            {"n": REVIEWER},
        ).one()
    assert secret not in stored.totp_secret and stored.password_hash.startswith("$argon2id$")
    planted = pyotp.random_base32()
    with registry.engine.begin() as conn:  # plant a secret the attacker's phone knows
        conn.execute(text("UPDATE credentials SET totp_secret = :s"), {"s": planted})
    with pytest.raises(LoginRefused):
        registry.authenticate(REVIEWER, BETTER)  # the row's seal no longer verifies
    with pytest.raises(LoginRefused):
        registry.verify_totp(REVIEWER, code(planted, clock.at))


def test_the_console_key_is_made_once_in_development_and_required_in_production(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ycpipelines.registry.console_key import ConsoleKey

    monkeypatch.setenv("YC_HOME", str(tmp_path))
    settings = Settings()
    first, again = ConsoleKey.load(settings), ConsoleKey.load(settings)
    assert again.decrypt(first.encrypt("secret")) == "secret"
    path = tmp_path / "keys" / "console.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(RegistryError, match="YC_CONSOLE_KEY must be set"):
        ConsoleKey.load(Settings(env="prod"))
    configured = Settings(env="prod", console_key="k" * 40)
    assert ConsoleKey.load(configured).decrypt(first.encrypt("secret")) is None
    with pytest.raises(RegistryError, match="at least 32 characters"):
        ConsoleKey.load(Settings(console_key="short"))


def test_a_hash_made_under_old_parameters_is_redone_at_sign_in(registry: Registry) -> None:
    registry.set_password(OPERATOR, GOOD, ADMIN)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(GOOD)
    with Session(registry.engine) as session:  # as the registry wrote it years ago: sealed
        credential = session.get(Credential, OPERATOR)
        credential.password_hash = weak
        reseal(registry.console_key(), credential)
        session.commit()
    registry.authenticate(OPERATOR, GOOD)
    with registry.engine.connect() as conn:
        now_stored = conn.execute(text("SELECT password_hash FROM credentials")).scalar()
    assert now_stored != weak and PasswordHasher().verify(now_stored, GOOD)


def signed_in(registry: Registry, name: str = OPERATOR) -> str:
    """A FULL session of `name`, whose password is its own."""
    registry.set_password(name, GOOD, name)
    assert registry.authenticate(name, GOOD) is Stage.FULL
    return registry.open_session(name, Stage.FULL)


def test_sessions_expire_when_idle_and_absolutely(registry: Registry, clock: Clock) -> None:
    token = signed_in(registry)
    view = registry.console_session(token)
    assert view.user == OPERATOR and view.stage is Stage.FULL and len(view.csrf) >= 32
    assert view.expires_at == T0 + timedelta(hours=8)
    for _ in range(40):  # in use every 14 minutes: alive until the absolute limit
        clock.move(minutes=14)
        if clock.at >= view.expires_at:
            assert registry.console_session(token) is None
            break
        assert registry.console_session(token) is not None
    else:
        raise AssertionError("the session outlived its absolute expiry")
    idle = registry.open_session(OPERATOR, Stage.FULL)
    clock.move(minutes=15, seconds=1)
    assert registry.console_session(idle) is None
    with registry.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM console_sessions")).scalar() == 0


def test_advancing_rotates_the_token(registry: Registry, clock: Clock) -> None:
    secret = enrolled(registry, clock)
    assert registry.authenticate(REVIEWER, BETTER) is Stage.PASSWORD
    first = registry.open_session(REVIEWER, Stage.PASSWORD)
    before = registry.console_session(first)
    with pytest.raises(LoginRefused):
        registry.open_session(OPERATOR, Stage.FULL)  # no password: no session
    assert registry.verify_totp(REVIEWER, code(secret, clock.at)) is Stage.FULL
    second = registry.advance_session(first, Stage.FULL)
    assert registry.console_session(first) is None, "the old token dies"
    after = registry.console_session(second)
    assert after.stage is Stage.FULL and after.csrf != before.csrf
    assert after.expires_at == before.expires_at, "rotation does not extend the session"
    with pytest.raises(LoginRefused):
        registry.advance_session(first, Stage.FULL)
    assert [e.subject for e in entries(registry, "login.succeeded")] == [f"user/{REVIEWER}"]
    registry.close_session(second)
    assert registry.console_session(second) is None
    assert [e.actor for e in entries(registry, "logout")] == [REVIEWER]
    with registry.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM console_sessions")).scalar() == 0


def test_a_stage_cannot_be_skipped_into_a_full_session(registry: Registry, clock: Clock) -> None:
    registry.set_password(OPERATOR, GOOD, ADMIN)  # must be changed first
    token = registry.open_session(OPERATOR, Stage.CHANGE)
    with pytest.raises(RegistryError, match="must change the password"):
        registry.advance_session(token, Stage.FULL)
    registry.set_password(REVIEWER, GOOD, REVIEWER)  # a reviewer with no second factor
    assert registry.authenticate(REVIEWER, GOOD) is Stage.ENROL
    with pytest.raises(RegistryError, match="must enrol a second factor"):
        registry.open_session(REVIEWER, Stage.FULL)
    assert entries(registry, "login.succeeded") == []


def test_the_database_gives_no_usable_session(registry: Registry, clock: Clock) -> None:
    token = signed_in(registry)
    with registry.engine.connect() as conn:
        stored = conn.execute(text("SELECT token_hash FROM console_sessions")).scalar()
    assert stored == token_hash(token) and token not in stored
    assert registry.console_session(stored) is None, "the stored hash is no cookie"

    registry.set_password(REVIEWER, GOOD, REVIEWER)
    half = registry.open_session(REVIEWER, Stage.ENROL)  # signed in with the password only
    with registry.engine.begin() as conn:
        conn.execute(
            text("UPDATE console_sessions SET stage = 'full' WHERE token_hash = :h"),
            {"h": token_hash(half)},
        )
    assert registry.console_session(half) is None, "a stage edited in the table"
    with registry.engine.begin() as conn:
        conn.execute(
            text('UPDATE console_sessions SET "user" = :admin WHERE token_hash = :h'),
            {"admin": ADMIN, "h": token_hash(token)},
        )
    assert registry.console_session(token) is None, "another account edited in"


def test_demo_accounts_sign_in_in_development_only(
    registry: Registry, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(RegistryError, match="not a demo account"):
        registry.set_demo_credentials(OPERATOR, GOOD, None, ADMIN)
    registry.add_user("demo_reviewer", ["reviewer"], ADMIN, demo=True)
    secret = pyotp.random_base32()
    registry.set_demo_credentials("demo_reviewer", GOOD, secret, ADMIN)
    assert registry.authenticate("demo_reviewer", GOOD) is Stage.PASSWORD
    assert registry.verify_totp("demo_reviewer", code(secret, clock.at)) is Stage.FULL
    token = registry.open_session("demo_reviewer", Stage.FULL)
    monkeypatch.setenv("YC_ENV", "prod")
    with pytest.raises(LoginRefused):
        registry.authenticate("demo_reviewer", GOOD)
    assert registry.console_session(token) is None, "a demo session dies in production"
    with pytest.raises(RegistryError, match="YC_ENV=prod"):
        registry.set_demo_credentials("demo_reviewer", GOOD, None, ADMIN)
    assert entries(registry, "login.failed")[-1].detail["reason"] == "demo account in production"
    assert_no_leak(registry, GOOD, secret)


def test_every_sign_in_event_is_audited_and_verifies(registry: Registry, clock: Clock) -> None:
    secret = enrolled(registry, clock)
    with pytest.raises(LoginRefused):
        registry.authenticate(REVIEWER, "Wrong-Password-1")
    registry.authenticate(REVIEWER, BETTER)
    typed = code(secret, clock.at)
    registry.verify_totp(REVIEWER, typed)
    token = registry.advance_session(registry.open_session(REVIEWER, Stage.PASSWORD), Stage.FULL)
    registry.close_session(token)
    actions = [e.action for e in registry.history(f"user/{REVIEWER}")]
    for action in (
        "user.password_set",
        "user.password_changed",
        "totp.enrolment_started",
        "totp.enrolled",
        "login.failed",
        "login.succeeded",
        "logout",
    ):
        assert action in actions, action
    assert registry.verify_audit().ok
    assert_no_leak(registry, GOOD, BETTER, secret, typed, "Wrong-Password-1")


def test_ycp_users_password_asks_twice_and_never_echoes(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    from unittest.mock import patch

    from ycpipelines.cli import main

    monkeypatch.setenv("YC_REGISTRY_URL", registry.url)

    def run(as_user: str, *typed: str) -> object:
        with patch("ycpipelines.cli.os_account", lambda *_: as_user):
            entered = "".join(f"{t}\n" for t in typed)
            return CliRunner().invoke(main, ["users", "password", OPERATOR], input=entered)

    mismatch = run(ADMIN, GOOD, BETTER, GOOD, GOOD)
    assert mismatch.exit_code == 0 and "do not match" in mismatch.output
    assert GOOD not in mismatch.output and BETTER not in mismatch.output
    assert "must be changed at the first sign-in" in mismatch.output
    assert registry.authenticate(OPERATOR, GOOD) is Stage.CHANGE
    own = run(OPERATOR, BETTER, BETTER)
    assert own.exit_code == 0 and own.output.strip().endswith(f"{OPERATOR}: password set")
    assert registry.authenticate(OPERATOR, BETTER) is Stage.FULL
    refused = run(REVIEWER, GOOD, GOOD)  # a reviewer setting another account's password
    assert refused.exit_code == 1 and "needs the admin role" in refused.output
    weak = run(OPERATOR, "short", "short")
    assert weak.exit_code == 1 and "at least 12 characters" in weak.output


def test_sign_in_on_postgresql_counts_concurrent_failures(pg_url: str, clock: Clock) -> None:
    registry = make_registry(pg_url)
    try:
        secret = enrolled(registry, clock)
        assert registry.authenticate(REVIEWER, BETTER) is Stage.PASSWORD
        token = registry.open_session(REVIEWER, Stage.PASSWORD)
        registry.verify_totp(REVIEWER, code(secret, clock.at))
        full = registry.advance_session(token, Stage.FULL)
        assert registry.console_session(full).stage is Stage.FULL
        clock.move(minutes=16)
        assert registry.console_session(full) is None

        def guess() -> None:
            with pytest.raises(LoginRefused):
                registry.authenticate(REVIEWER, "Guess-Number-0003")

        threads = [threading.Thread(target=guess) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(entries(registry, "login.locked")) == 1, "no failure lost to a race"
        with pytest.raises(LoginRefused):
            registry.authenticate(REVIEWER, BETTER)
        assert registry.verify_audit().ok
        assert_no_leak(registry, GOOD, BETTER, secret)
    finally:
        registry.engine.dispose()


def race(count: int, attempt: Callable[[], object]) -> list[object]:
    """`attempt` from `count` threads released together; each result or the exception raised."""
    start, results = threading.Barrier(count), []

    def run() -> None:
        start.wait()
        try:
            results.append(attempt())
        except Exception as raised:  # the outcome is what the test counts
            results.append(raised)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_parallel_wrong_passwords_lock_once_on_sqlite(registry: Registry, clock: Clock) -> None:
    registry.set_password(OPERATOR, GOOD, OPERATOR)
    results = race(10, lambda: registry.authenticate(OPERATOR, "Guess-Number-0004"))
    assert all(isinstance(r, LoginRefused) for r in results), results
    assert len(entries(registry, "login.locked")) == 1, "locked, and audited exactly once"
    with pytest.raises(LoginRefused):
        registry.authenticate(OPERATOR, GOOD)
    assert registry.sign_in_state(OPERATOR).locked_until is not None
    assert registry.verify_audit().ok


def test_a_code_raced_from_parallel_requests_passes_once(registry: Registry, clock: Clock) -> None:
    secret = enrolled(registry, clock)
    assert registry.authenticate(REVIEWER, BETTER) is Stage.PASSWORD
    used = code(secret, clock.at)
    results = race(6, lambda: registry.verify_totp(REVIEWER, used))
    assert results.count(Stage.FULL) == 1, results
    assert all(isinstance(r, LoginRefused) for r in results if r is not Stage.FULL)


def test_a_reset_password_a_lock_or_a_new_role_ends_open_sessions(
    registry: Registry, clock: Clock
) -> None:
    changed = signed_in(registry)
    clock.move(seconds=1)
    registry.set_password(OPERATOR, BETTER, OPERATOR)
    assert registry.console_session(changed) is None, "a password set after the session began"

    reset = registry.open_session(OPERATOR, Stage.FULL)
    clock.move(seconds=1)
    registry.set_password(OPERATOR, GOOD, ADMIN)  # an admin's reset
    assert registry.console_session(reset) is None

    registry.set_password(OPERATOR, BETTER, OPERATOR)
    locked = registry.open_session(OPERATOR, Stage.FULL)
    alive = registry.open_session(OPERATOR, Stage.FULL)
    assert registry.console_session(alive) is not None, "an ordinary session lives"
    for _ in range(3):
        with pytest.raises(LoginRefused):
            registry.authenticate(OPERATOR, "Guess-Number-0005")
    assert registry.console_session(locked) is None, "the account is locked now"

    clock.move(minutes=16)
    escalated = registry.open_session(OPERATOR, Stage.FULL)
    assert registry.console_session(escalated) is not None
    registry.add_user(OPERATOR, ["admin"], ADMIN)
    assert registry.console_session(escalated) is None, "an admin now, with no second factor"


def test_a_password_change_keeps_the_session_it_was_made_in(
    registry: Registry, clock: Clock
) -> None:
    registry.set_password(OPERATOR, GOOD, ADMIN)
    assert registry.authenticate(OPERATOR, GOOD) is Stage.CHANGE
    changing = registry.open_session(OPERATOR, Stage.CHANGE)
    other = registry.open_session(OPERATOR, Stage.CHANGE)
    clock.move(seconds=1)
    registry.change_password(OPERATOR, GOOD, BETTER)
    clock.move(seconds=1)
    full = registry.advance_session(changing, Stage.FULL)
    assert registry.console_session(full).stage is Stage.FULL
    assert registry.console_session(other).stage is Stage.CHANGE, "it can only change it again"


def test_a_credential_row_copied_onto_another_account_signs_nobody_in(
    registry: Registry, clock: Clock
) -> None:
    secret = enrolled(registry, clock)  # the attacker's own account, password and phone
    registry.set_password(ADMIN, GOOD, ADMIN)
    columns = "password_hash, totp_secret, totp_confirmed, must_change, changed_at, seal"
    with registry.engine.begin() as conn:
        mine = conn.execute(
            text(f'SELECT {columns} FROM credentials WHERE "user" = :n'), {"n": REVIEWER}
        ).one()
        conn.execute(
            text(
                "UPDATE credentials SET password_hash = :password_hash, totp_secret = "
                ":totp_secret, totp_confirmed = :totp_confirmed, must_change = :must_change, "
                'changed_at = :changed_at, seal = :seal WHERE "user" = :victim'
            ),
            mine._asdict() | {"victim": ADMIN},
        )
    with pytest.raises(LoginRefused) as refused:
        registry.authenticate(ADMIN, BETTER)
    assert str(refused.value) == module.REFUSED
    with pytest.raises(LoginRefused):
        registry.verify_totp(ADMIN, code(secret, clock.at))
    assert entries(registry, "login.failed")[-1].detail["reason"] == "credentials edited"
    key = registry.console_key()
    assert key.decrypt(mine.totp_secret).startswith(f"{REVIEWER}\n"), "the secret names its owner"
    assert registry.authenticate(REVIEWER, BETTER) is Stage.PASSWORD, "the original still works"


def test_enrolment_shows_a_new_secret_every_time(registry: Registry, clock: Clock) -> None:
    registry.set_password(REVIEWER, GOOD, REVIEWER)
    first = registry.begin_totp(REVIEWER)
    second = registry.begin_totp(REVIEWER)  # e.g. someone who knows only the password
    assert first != second
    with pytest.raises(LoginRefused):
        registry.confirm_totp(REVIEWER, code(first, clock.at))
    registry.confirm_totp(REVIEWER, code(second, clock.at))
