"""Real registry data for the console's API tests: a delivery to one consumer (through the one
delivery path), a pending request of another, a ticket to a bureau, and the people involved."""

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from upath import UPath

from ycpipelines.foundation.clock import pilot_today
from ycpipelines.foundation.feedback import Finding
from ycpipelines.foundation.lake import file_digest
from ycpipelines.registry import Registry

from helpers import ADMIN, deliver_file
from people import Person, person

REVIEWER, SUPERVISOR = "钱审核", "孙监管"
ALICE, BOB = "甲保险", "乙保险"  # accounts of the consumers insurer_a and insurer_b
HEALTH = "卫健委甲"  # an account of the bureau health


@dataclass(frozen=True)
class Holdings:
    """The ids of what the registry holds, and who may see it."""

    delivery: int  # insurer_a's
    delivered_request: int  # insurer_a's, published
    pending: int  # insurer_b's
    ticket: int  # health's
    people: dict[str, Person]


def pending_request(registry: Registry, consumer: str, product: Path) -> int:
    """A request the sensor filed for `consumer` under a fresh grant, built by an operator."""
    today = pilot_today()
    grant = registry.grant(
        consumer=consumer, scenario="underwriting_features", fields=["score"],
        plan=f"预案-{consumer}", valid_from=today, valid_to=today + timedelta(days=30),
        actor=ADMIN,
    )  # fmt: skip
    request, _ = registry.file_request(
        "egress-sensor", scenario="underwriting_features", consumer=consumer,
        authorization_id=grant.id, content_hash=file_digest(UPath(product)), row_count=2,
        product_path=str(product), product_run_id="run-2", launched_by="赵运营", evidence={},
    )  # fmt: skip
    return request.id


def holdings(registry: Registry, folder: Path) -> Holdings:
    """The people, then a delivery to insurer_a, a pending request of insurer_b and a ticket."""
    people = {
        name: person(registry, name, roles)
        for name, roles in (
            (ADMIN, ["admin"]),
            (REVIEWER, ["reviewer"]),
            (SUPERVISOR, ["supervisor"]),
            (ALICE, ["consumer:insurer_a"]),
            (BOB, ["consumer:insurer_b"]),
            (HEALTH, ["bureau:health"]),
        )
    }
    folder.mkdir(parents=True, exist_ok=True)
    delivered, product = folder / "scores.csv", folder / "scores_b.csv"
    delivered.write_text("score\n0.7\n0.2\n", encoding="utf-8")
    product.write_text("score\n0.4\n0.9\n", encoding="utf-8")
    delivery = deliver_file(registry, "insurer_a", folder / "zone", delivered, REVIEWER)
    pending = pending_request(registry, "insurer_b", product)
    registry.sync_tickets(
        dataset="outpatient_visits", bureau="health", day="2025-06-30", stage="govern",
        run_id="run-3", found={"rule": Finding("reason", 1, ["k***"])}, clean=False,
    )  # fmt: skip
    [ticket] = registry.tickets(bureau="health")
    return Holdings(delivery.id, delivery.request_id, pending, ticket.id, people)
