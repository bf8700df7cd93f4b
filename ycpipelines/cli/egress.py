"""`ycp egress`: approval requests for deliveries (出域审核) and the evidence a reviewer reads."""

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ycpipelines.cli.authorizations import authorization_row
from ycpipelines.cli.context import Cli, pass_cli, refused, registry_refusals
from ycpipelines.cli.output import echo_json, fields, json_option, show
from ycpipelines.cli.params import REQUEST_STATUSES, Output

if TYPE_CHECKING:
    from ycpipelines.registry.models import ApprovalRequest


@click.group("egress")
def command() -> None:
    """出域审核: review approval requests for product deliveries."""


def request_row(r: "ApprovalRequest") -> dict[str, Any]:
    return {
        "id": r.id,
        "status": r.status,
        "scenario": r.scenario,
        "consumer": r.consumer,
        "rows": r.row_count,
        "content_hash": r.content_hash,
        "authorization": r.authorization_id,
        "launched_by": r.launched_by,
        "reviewer": r.reviewer,
        "requested_at": r.requested_at,
        "decided_at": r.decided_at,
    }


@command.command("list")
@click.option("--status", type=click.Choice(REQUEST_STATUSES), help="only requests in this state")
@json_option
@pass_cli
def egress_list(cli: Cli, status: str | None, as_json: bool) -> None:
    """Approval requests, oldest first: state, product content, consumer, reviewer."""
    rows = [request_row(r) for r in cli.registry().requests(status)]
    show(rows, as_json, title="approval requests")


def evidence_tables(evidence: dict[str, Any]) -> None:
    """The evidence's per-field, per-dataset and per-bureau parts as tables."""
    entries = evidence.get("fields", {})
    rows = [
        {"field": n, "level": e.get("level"), "from": e.get("from")} for n, e in entries.items()
    ]
    if rows:
        show(rows, False, title="fields and levels (分类分级)")
    policies = evidence.get("deid_policies", {})
    rows = [
        {"dataset": d, "field": f, "policy": p} for d, fs in policies.items() for f, p in fs.items()
    ]
    if rows:
        show(rows, False, title="de-identification of the inputs (脱敏)")
    quality = evidence.get("quality", {})
    rows = [{"dataset": d, **q} for d, q in quality.items()]
    if rows:
        show(rows, False, title="quality of the inputs (partitions that passed the gate)")
    contributions = evidence.get("contributions", {})
    rows = [{"bureau": b, "rows": n} for b, n in contributions.items()]
    if rows:
        show(rows, False, title="contributions (收益分配)")


def show_evidence(evidence: dict[str, Any]) -> None:
    """The evidence JSON rendered readably: tables, privacy figures, then anything else."""
    evidence_tables(evidence)
    if privacy := evidence.get("privacy"):
        fields(privacy, title="privacy checks (隐私核验)")
    tabled = {"fields", "deid_policies", "quality", "contributions", "privacy"}
    if rest := {k: v for k, v in evidence.items() if k not in tabled}:
        fields(rest, title="purpose, retention and price")


@command.command("show")
@click.argument("request_id", type=int)
@json_option
@pass_cli
def egress_show(cli: Cli, request_id: int, as_json: bool) -> None:
    """The evidence a reviewer reads for a request: the request and its content hash, the
    authorization, fields and levels, privacy checks, quality, contributions, price; with
    --json one object {request, authorization, evidence}."""
    registry = cli.registry()
    with registry_refusals():
        request = registry.request(request_id)
    found = registry.authorization(request.authorization_id) if request.authorization_id else None
    grant = authorization_row(found) if found else None
    head = request_row(request) | {
        "product": request.product_path,
        "product_run": request.product_run_id,
        "comment": request.comment,
        "published": request.published_path,
        "published_at": request.published_at,
    }
    if as_json:
        echo_json({"request": head, "authorization": grant, "evidence": request.evidence})
        return
    fields(head, title=f"approval request {request.id} (出域审核申请)")
    if grant is not None:
        fields(grant, title="authorization (授权) and its contingency plan (预案)")
    show_evidence(request.evidence or {})


def decide(cli: Cli, request_id: int, approve: bool, comment: str) -> None:
    registry = cli.registry()
    reviewer = cli.acting_user()
    with registry_refusals():
        request = registry.decide(request_id, approve=approve, reviewer=reviewer, comment=comment)
    click.echo(f"request {request.id} {request.status} by {reviewer}: {request.content_hash}")


@command.command("approve")
@click.argument("request_id", type=int)
@click.option("--comment", required=True, help="why the content may leave the domain")
@pass_cli
def egress_approve(cli: Cli, request_id: int, comment: str) -> None:
    """Approve exactly the content a request names, as the account this login maps to."""
    decide(cli, request_id, True, comment)


@command.command("reject")
@click.argument("request_id", type=int)
@click.option("--comment", required=True, help="why the content may not leave the domain")
@pass_cli
def egress_reject(cli: Cli, request_id: int, comment: str) -> None:
    """Reject a request, as the account this login maps to."""
    decide(cli, request_id, False, comment)


# Who may print a review form: those who may read every request.
FORM_READERS = ("reviewer", "admin", "supervisor")


@command.command("form")
@click.argument("request_id", type=int)
@click.option("--out", required=True, type=Output(), help="PDF file to write")
@pass_cli
def egress_form(cli: Cli, request_id: int, out: Path) -> None:
    """出域审核单: print a request's review form (PDF) bound to its content hash, reviewer,
    decision time and audit entry; a request with no verified approval prints as pending."""
    from ycpipelines.egress.form import printed_form

    registry = cli.registry()
    actor = cli.acting_user()
    with registry_refusals():
        registry.require(actor, FORM_READERS, f"print the review form of request {request_id}")
        pdf, decision = printed_form(registry, cli.catalog(), request_id, actor)
    with refused(OSError, prefix=f"cannot write {out}: "):
        out.write_bytes(pdf)
    state = "decision" if decision else "no decision"
    click.echo(f"wrote the review form of request {request_id} ({state}) to {out}")
