"""The command line people use: help everywhere, tables or JSON, clean refusals of bad input."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from ycpipelines.cli import main
from ycpipelines.cli.output import stamp
from ycpipelines.foundation.clock import pilot_today
from ycpipelines.registry import Registry

from helpers import ADMIN, accounts, ycp


def commands(group: click.Group, path: str = "ycp") -> Iterator[tuple[str, click.Command]]:
    """Every group and command under `group`, named by its path."""
    yield path, group
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from commands(command, f"{path} {name}")
        else:
            yield f"{path} {name}", command


def test_every_command_and_group_has_help_text() -> None:
    found = dict(commands(main))
    assert len(found) > 45
    assert [path for path, command in found.items() if not (command.help or "").strip()] == []
    undocumented = [
        f"{path} {option.name}"
        for path, command in found.items()
        for option in command.params
        if isinstance(option, click.Option) and not (option.help or "").strip()
    ]
    assert undocumented == []


def refused(*args: str) -> str:
    """Run `ycp …`, assert it failed cleanly (no traceback): the message it printed."""
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("egress", "list", "--status", "bogus"), "'bogus' is not one of 'pending', 'approved'"),
        (("tickets", "list", "--status", "bogus"), "'bogus' is not one of 'open', 'acknowledged'"),
        (("tickets", "list", "--bureau", "bogus"), "'bogus' is not one of health, market_"),
        (("tickets", "list", "--dataset", "bogus"), "'bogus' is not one of enterprises, "),
        (("auth", "list", "--status", "bogus"), "'bogus' is not one of 'active', 'suspended'"),
        (("catalog", "classify", "bogus"), "'bogus' is not one of enterprises, "),
        (("ledger", "settle", "--period", "2025-13"), "'2025-13' is not a month (YYYY-MM)"),
    ],
)
def test_filters_are_validated_listing_the_valid_values(
    yc_home: Path, args: tuple[str, ...], message: str
) -> None:
    out = refused(*args)
    assert message in out and "Invalid value" in out


@pytest.mark.parametrize("day", ["2026-13-01", "2026-02-30", "tomorrow"])
def test_days_are_validated(yc_home: Path, day: str, tmp_path: Path) -> None:
    out = refused("audit", "export", "--from", day, "--to", "2026-12-31", "--out", "x.csv")
    assert f"{day!r} is not a day (YYYY-MM-DD)" in out
    grant = ("auth", "grant", "--consumer", "c", "--scenario", "disease_stats", "--plan", "p")
    assert "is not a day" in refused(*grant, "--from", "2026-01-01", "--to", day)


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "a-file"
    path.write_text("")
    return path


@pytest.mark.parametrize(
    "command",
    [
        ("audit", "export", "--from", "2026-01-01", "--to", "2026-01-02"),
        ("lineage", "export"),
        ("map",),
        ("audit", "anchor"),
        ("quality", "report"),
    ],
)
def test_an_unwritable_out_is_refused_before_any_work(
    yc_home: Path, a_file: Path, command: tuple[str, ...]
) -> None:
    for out, reason in (("/proc/x/y", "cannot write '/proc/x/y'"), (a_file / "x", "Not a dir")):
        message = refused(*command, "--out", str(out))
        assert "Invalid value for '--out'" in message and reason in message


def test_a_folder_given_as_an_out_file_is_refused(yc_home: Path, tmp_path: Path) -> None:
    assert "is a folder, not a file" in refused("map", "--out", str(tmp_path))


def test_lists_print_json_objects_with_their_keys(yc_home: Path) -> None:
    accounts(Registry(), {"李审核": ["reviewer"]})
    today = pilot_today()
    ycp(
        "auth",
        "grant",
        "--consumer",
        "insurer_j",
        "--scenario",
        "disease_stats",
        "--from",
        str(today),
        "--to",
        str(today.replace(year=today.year + 1)),
        "--plan",
        "预案: 停止交付",
    )
    users = json.loads(ycp("users", "list", "--json"))
    assert {u["name"]: u["roles"] for u in users}.items() >= {
        ADMIN: ["admin"],
        "李审核": ["reviewer"],
    }.items()
    assert all(u["roles_verified"] and u["added_at"].endswith("+08:00") for u in users)
    [grant] = json.loads(ycp("auth", "list", "--json", "--consumer", "insurer_j"))
    assert (grant["status"], grant["scenario"], grant["valid_from"]) == (
        "active",
        "disease_stats",
        str(today),
    )
    assert json.loads(ycp("egress", "list", "--json", "--status", "pending")) == []
    assert json.loads(ycp("tickets", "list", "--json", "--status", "closed")) == []
    table = ycp("users", "list")
    assert "name" in table and "roles" in table and "李审核" in table  # headers and rows
    assert "no approval request 999" in ycp("egress", "show", "999", ok=False)


def test_timestamps_carry_the_pilots_zone() -> None:
    assert stamp(datetime(2025, 6, 30, 16, 30)) == "2025-07-01T00:30:00+08:00"  # naive is UTC
    assert stamp(datetime(2025, 6, 30, 16, 30, tzinfo=UTC)) == "2025-07-01T00:30:00+08:00"
