"""The review desk's evidence (审核台) and the printed 出域审核单, on real requests
(`review_desk.desk_requests`): one pending, one approved, one published after a first
delivery."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy.orm import Session

from ycpipelines.egress.content import private_copy
from ycpipelines.egress.desk import ReviewSheet, review_sheet
from ycpipelines.egress.form import review_form_pdf
from ycpipelines.egress.privacy_rows import privacy_rows
from ycpipelines.foundation.clock import stamp
from ycpipelines.foundation.lake import duck
from ycpipelines.foundation.levels import Level
from ycpipelines.registry import Registry, RegistryError
from ycpipelines.registry.models import ApprovalRequest

from helpers import resident_identifiers, ycp
from review_desk import (
    APPROVED,
    OPERATOR,
    PENDING,
    REVIEWER,
    SCENARIO,
    TWICE,
    desk_requests,
    pdf_text,
)


@pytest.fixture(scope="module")
def desk(egress_registry: Registry, sources: dict, instance: dg.DagsterInstance) -> dict:
    return desk_requests(egress_registry, sources, instance)


def sheet_of(desk: dict, consumer: str) -> ReviewSheet:
    return review_sheet(desk["registry"], desk["catalog"], desk["requests"][consumer].id)


def test_the_sample_has_at_most_twenty_rows_each_masked_by_its_fields_level(desk: dict) -> None:
    sheet = sheet_of(desk, PENDING)
    product = next(p for p in desk["catalog"].products if p.scenario == SCENARIO)
    assert sheet.content_verified and sheet.sample is not None
    assert sheet.sample.masked and 0 < len(sheet.sample.rows) <= 20
    assert sheet.sample.columns == [f.name for f in product.fields]
    levels = {f.name: f.level for f in product.fields}
    for n, column in enumerate(sheet.sample.columns):
        cells = {row[n] for row in sheet.sample.rows}
        if levels[column].rank >= Level.L3.rank:  # pseudonyms, diagnoses: stars only
            assert all(set(c) == {"*"} or c == "∅" for c in cells), column
    assert any(c != "∅" and set(c) != {"*"} for row in sheet.sample.rows for c in row)


def test_fields_show_request_authorization_level_lineage_and_policy(desk: dict) -> None:
    sheet = sheet_of(desk, PENDING)
    rows = {f.name: f for f in sheet.fields}
    person = rows["person_pid"]
    assert person.requested and person.authorized and person.level == "L3"
    assert person.lineage == [
        "safe/settlements.person_pid ← medical_insurance/settlements.id_number"
    ]
    assert person.policy == "settlements.id_number: pseudonymize"
    assert sheet.residual_identifiers == 0
    assert {q.dataset for q in sheet.quality} == {"outpatient_visits", "settlements"}
    assert sum(c.share for c in sheet.contributions) == pytest.approx(1, abs=1e-3)
    assert sheet.price == "2000.00" and sheet.retention_days == 180


def test_privacy_rows_compare_each_figure_with_its_threshold(desk: dict) -> None:
    sheet = sheet_of(desk, PENDING)
    rows = {r.name: r for r in sheet.privacy}
    evidence = desk["requests"][PENDING].evidence["privacy"]
    k = rows["k_anonymity"]
    assert (k.measured, k.threshold, k.op) == (evidence["smallest_group"], 5, "≥")
    assert k.passed == (k.measured >= 5)
    risk = rows["max_risk"]
    assert risk.threshold == 0.2 and risk.passed == (risk.measured <= 0.2)  # 受控公开
    assert rows["residual_identifiers"].passed and rows["average_risk"].threshold == 0.1
    product = next(p for p in desk["catalog"].products if p.scenario == SCENARIO)
    forged = {"privacy": {"smallest_group": 2, "reidentification": {"max_risk": 0.5}}}
    judged = {r.name: r.passed for r in privacy_rows(forged, product, None)}
    assert judged == {"k_anonymity": False, "max_risk": False}


def test_l_diversity_is_measured_on_the_file_when_the_build_did_not_record_it(desk: dict) -> None:
    request = desk["requests"][PENDING]
    product = next(p for p in desk["catalog"].products if p.scenario == SCENARIO)
    diverse = product.model_copy(update={"sensitive": "icd10_code", "l_diversity": 2})
    with private_copy(request.product_path) as content:
        [row] = [r for r in privacy_rows({}, diverse, content.path) if r.name == "l_diversity"]
    assert isinstance(row.measured, int) and row.threshold == 2
    assert row.passed == (row.measured >= 2)
    [unmeasured] = privacy_rows({}, diverse, None)
    assert unmeasured.measured is None and not unmeasured.passed


@contextmanager
def replaced(path: Path) -> Iterator[None]:
    """Within, the product file holds other bytes (its first five rows); then it is put back."""
    kept = path.read_bytes()
    other = path.with_name("other.parquet")
    with duck() as con:
        con.execute(f"COPY (SELECT * FROM read_parquet('{path}') LIMIT 5) TO '{other}'")
    other.replace(path)
    try:
        yield
    finally:
        path.write_bytes(kept)


def test_a_file_replaced_after_the_request_gives_no_sample(desk: dict) -> None:
    request = desk["requests"][PENDING]
    with replaced(Path(request.product_path)):
        sheet = sheet_of(desk, PENDING)
    assert sheet.sample is None and not sheet.content_verified
    assert "hash is not the request's content_hash" in sheet.sample_note
    assert sheet_of(desk, PENDING).sample is not None, "put back, the file is sampled again"


def test_changes_since_the_previous_delivery_show_the_row_difference(desk: dict) -> None:
    registry, request = desk["registry"], desk["requests"][TWICE]
    v1, v2 = registry.deliveries(consumer=TWICE)
    assert (v1.version, v2.version) == ("v1", "v2") and v2.request_id == request.id
    changes = sheet_of(desk, TWICE).changes
    assert changes is not None and changes.previous_version == "v1"
    assert (changes.rows_before, changes.rows_after) == (v1.rows, request.row_count)
    assert changes.rows_after > changes.rows_before, "the last day added settlements"
    assert changes.added == changes.removed == changes.retyped == []
    columns = {c.column: c for c in changes.distribution}
    assert columns["person_pid"].pseudonym and columns["person_pid"].after.distinct is None
    fee = columns["visit_fee"]
    assert fee.before.mean is not None and fee.after.stddev is not None and fee.after.stddev >= 0
    assert not hasattr(fee.after, "min") and not hasattr(fee.after, "max"), "no row's own value"
    first = sheet_of(desk, PENDING)
    assert first.changes is None and "first delivery" in first.changes_note


def test_the_form_is_bound_to_the_hash_reviewer_request_and_chain_entry(
    desk: dict, tmp_path: Path
) -> None:
    request = desk["requests"][APPROVED]
    out = tmp_path / "form.pdf"
    ycp("egress", "form", str(request.id), "--out", str(out), as_user=REVIEWER)
    text = pdf_text(out.read_bytes())
    decision = desk["registry"].verified_decision(request.id)
    assert request.content_hash in text
    assert "approved, verified in the audit chain" in text
    assert f"审计链条目 audit entry\n{decision.entry_id}\n" in text
    assert f"审核时间 decided at\n{stamp(datetime.fromisoformat(decision.decided_at))}" in text
    assert REVIEWER in text and "出域审核单" in text
    assert str(request.id) in text


def test_a_pending_request_prints_as_no_decision(desk: dict) -> None:
    sheet = sheet_of(desk, PENDING)
    text = pdf_text(review_form_pdf(sheet, None, REVIEWER))
    assert "pending: not a decision" in text and "待审核" in text
    assert "approved" not in text


def test_a_decision_of_another_request_is_not_printed_on_this_form(desk: dict) -> None:
    decision = desk["registry"].verified_decision(desk["requests"][APPROVED].id)
    with pytest.raises(ValueError, match="not this request's"):
        review_form_pdf(sheet_of(desk, PENDING), decision, REVIEWER)


def test_only_reviewers_admins_and_supervisors_print_forms(desk: dict, tmp_path: Path) -> None:
    request = desk["requests"][PENDING]
    out = tmp_path / "form.pdf"
    refused = ycp("egress", "form", str(request.id), "--out", str(out), as_user=OPERATOR, ok=False)
    assert "needs the reviewer or admin or supervisor role" in refused and not out.exists()


def test_no_raw_source_value_reaches_the_sheet_or_the_form(desk: dict, yc_home: Path) -> None:
    secrets = resident_identifiers(yc_home / "sources")
    assert len(secrets) > 100
    places = {}
    for consumer in (PENDING, APPROVED, TWICE):
        sheet = sheet_of(desk, consumer)
        pdf = review_form_pdf(sheet, None, REVIEWER)
        places[f"{consumer} sheet"] = repr(sheet)
        places[f"{consumer} form"] = pdf_text(pdf) + pdf.decode("latin-1")
    leaks = [f"{w}: {s[:1]}…({len(s)})" for w, t in places.items() for s in secrets if s in t]
    assert not leaks, leaks[:10]


def test_a_published_request_keeps_its_verified_approval_and_a_status_edit_is_none(
    desk: dict,
) -> None:
    registry = desk["registry"]
    published, approved = desk["requests"][TWICE], desk["requests"][APPROVED]
    decision = registry.verified_approval(published.id)
    history = registry.history(f"request/{published.id}")
    [entry] = [e for e in history if e.action == "egress.approved"]
    assert (decision.entry_id, decision.reviewer) == (entry.id, REVIEWER)
    with pytest.raises(RegistryError, match="not approved"):
        registry.verified_decision(published.id)  # publish delivers an approved request only
    assert registry.verified_approval(desk["requests"][PENDING].id) is None
    with Session(registry.engine) as session, session.begin():
        session.get(ApprovalRequest, approved.id).status = "published"
    try:
        with pytest.raises(RegistryError):
            registry.verified_approval(approved.id)  # no egress.published entry: no approval
    finally:
        with Session(registry.engine) as session, session.begin():
            session.get(ApprovalRequest, approved.id).status = "approved"
    assert registry.verified_approval(approved.id).reviewer == REVIEWER


def test_the_form_of_a_published_request_names_the_delivered_files_hash(desk: dict) -> None:
    registry, request = desk["registry"], desk["requests"][TWICE]
    sheet = sheet_of(desk, TWICE)
    [delivered] = sheet.delivered
    [delivery] = [d for d in registry.deliveries(consumer=TWICE) if d.request_id == request.id]
    assert (delivered.sha256, delivered.version) == (delivery.sha256, "v2")
    text = pdf_text(review_form_pdf(sheet, registry.verified_approval(request.id), REVIEWER))
    assert delivery.sha256 in text and request.content_hash in text
    assert "approved, verified in the audit chain" in text
    assert "not delivered" in pdf_text(review_form_pdf(sheet_of(desk, PENDING), None, REVIEWER))


def test_a_mean_of_fewer_rows_than_k_is_not_shown(tmp_path: Path) -> None:
    """A mean standing on fewer than k rows is those rows' own values: the change view omits it."""
    from ycpipelines.egress.changes import stats
    from ycpipelines.foundation.lake import duck

    few = tmp_path / "few.parquet"
    with duck() as con:
        con.execute(f"COPY (SELECT * FROM range(3) t(fee)) TO '{few}' (FORMAT parquet)")
        hidden = stats(con, few, "fee", "BIGINT", False, smallest=5)
        shown = stats(con, few, "fee", "BIGINT", False, smallest=3)
    assert hidden.mean is None and hidden.stddev is None and hidden.distinct == 3
    assert shown.mean == 1.0
