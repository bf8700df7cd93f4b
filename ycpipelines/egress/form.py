"""出域审核单 The printable review form: one request's evidence bound to its content hash, its
reviewer, the decision's time and its entry in the audit chain. A request without a verified
decision prints as pending, never as a decision."""

from datetime import UTC, datetime
from io import BytesIO
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ycpipelines.catalog import Catalog
from ycpipelines.egress.desk import ReviewSheet, review_sheet
from ycpipelines.foundation.clock import stamp
from ycpipelines.registry import Registry
from ycpipelines.registry.requests import Decision

TITLE = "出域审核单"
CHINESE = "STSong-Light"  # reportlab's built-in CID font: no font file is shipped
LATIN = "Courier"  # hashes and ids, so they extract as plain text
PENDING = "待审核 — 非审核结论"
PENDING_LATIN = "pending: not a decision"


def styles() -> dict[str, ParagraphStyle]:
    if CHINESE not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CHINESE))
    body = ParagraphStyle("body", fontName=CHINESE, fontSize=9, leading=12, wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", parent=body, fontSize=18, leading=24, alignment=1),
        "heading": ParagraphStyle("heading", parent=body, fontSize=11, leading=16, spaceBefore=6),
        "body": body,
    }


def latin(value: object, size: int = 9) -> str:
    """A value set in the Latin font, escaped."""
    return f'<font name="{LATIN}" size="{size}">{escape(str(value))}</font>'


def text(value: object) -> str:
    return escape("" if value is None else str(value))


def verdict(sheet: ReviewSheet, decision: Decision | None) -> tuple[str, str, str]:
    """(conclusion, reviewer, time) as printed; only a verified decision is a conclusion."""
    if decision is None:
        status = sheet.request.get("status")
        if status == "pending":
            return f"{text(PENDING)} {latin(PENDING_LATIN)}", "—", "—"
        unverified = f"无经审计链核验的批准 — 非审核结论 {latin(f'{status}: not a decision')}"
        return unverified, text(sheet.request.get("reviewer")), "—"
    when = stamp(datetime.fromisoformat(decision.decided_at))
    return (
        f"批准 {latin('approved, verified in the audit chain')}",
        text(decision.reviewer),
        latin(when),
    )


def delivered_rows(sheet: ReviewSheet) -> list[tuple[str, str]]:
    """The SHA-256 of each file delivered under the request, to check a download against."""
    if not sheet.delivered:
        return [("交付文件哈希 delivered file", f"尚未交付 {latin('not delivered')}")]
    return [
        (f"交付文件哈希 delivered file SHA-256 ({text(d.version)})", latin(d.sha256, size=8))
        for d in sheet.delivered
    ]


def binding_rows(sheet: ReviewSheet, decision: Decision | None, printed_by: str) -> list:
    """What the form is bound to, label beside value."""
    request = sheet.request
    conclusion, reviewer, when = verdict(sheet, decision)
    printed_at = stamp(datetime.now(UTC))
    return [
        ("申请编号 request", latin(request["id"])),
        ("场景 scenario", latin(request["scenario"])),
        ("消费方 consumer", latin(request["consumer"])),
        ("内容哈希 content hash", latin(request["content_hash"], size=8)),
        *delivered_rows(sheet),
        ("行数 rows", latin(request["row_count"])),
        ("审核结论 decision", conclusion),
        ("审核员 reviewer", reviewer),
        ("审核时间 decided at", when),
        ("审计链条目 audit entry", latin(decision.entry_id) if decision else "—"),
        ("用途 purpose", text(sheet.purpose)),
        ("法律依据 legal basis", text(sheet.legal_basis)),
        (
            "保存期限 retention",
            latin(f"{sheet.retention_days} days" if sheet.retention_days else "—"),
        ),
        ("价格 price", latin(sheet.price)),
        ("打印人 printed by", text(printed_by)),
        ("打印时间 printed at", latin(printed_at)),
    ]


def table(rows: list, style: ParagraphStyle, widths: list[float], head: bool = False) -> Table:
    cells = [[Paragraph(str(c), style) for c in row] for row in rows]
    found = Table(cells, colWidths=widths, repeatRows=1 if head else 0)
    commands = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    if head:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke))
    found.setStyle(TableStyle(commands))
    return found


def field_table(sheet: ReviewSheet, style: ParagraphStyle) -> Table:
    head = [
        "字段 field",
        "级别<br/>level",
        "申请<br/>requested",
        "授权<br/>authorized",
        "脱敏 policy",
    ]
    rows = [
        [
            latin(f.name),
            latin(f.level),
            "是" if f.requested else "否",
            "是" if f.authorized else "否",
            latin(f.policy or "—"),
        ]
        for f in sheet.fields
    ]
    return table([head, *rows], style, [40 * mm, 16 * mm, 22 * mm, 22 * mm, 80 * mm], head=True)


def privacy_table(sheet: ReviewSheet, style: ParagraphStyle) -> Table:
    head = ["核验 check", "实测 measured", "阈值 threshold", "结论 result"]
    rows = [
        [
            text(r.label),
            latin(r.measured),
            latin(f"{r.op} {r.threshold}"),
            "通过 passed" if r.passed else "未通过 failed",
        ]
        for r in sheet.privacy
    ]
    return table([head, *rows], style, [70 * mm, 35 * mm, 35 * mm, 40 * mm], head=True)


def review_form_pdf(sheet: ReviewSheet, decision: Decision | None, printed_by: str) -> bytes:
    """The 出域审核单 of a request as PDF bytes. `decision` is the request's verified decision
    (`Registry.verified_decision`), or None: the form then says it is no decision. A decision of
    another request or content is refused (ValueError)."""
    if decision is not None and (
        decision.request_id != sheet.request["id"]
        or decision.content_hash != sheet.request["content_hash"]
    ):
        raise ValueError("the decision is not this request's: another request or content")
    found = styles()
    out = BytesIO()
    document = SimpleDocTemplate(
        out, pagesize=A4, title=TITLE, author=printed_by, leftMargin=15 * mm, rightMargin=15 * mm
    )
    document.build(
        [
            Paragraph(TITLE, found["title"]),
            Spacer(1, 4 * mm),
            table(binding_rows(sheet, decision, printed_by), found["body"], [45 * mm, 135 * mm]),
            Paragraph("字段清单 fields (申请与授权)", found["heading"]),
            field_table(sheet, found["body"]),
            Paragraph("隐私核验 privacy results", found["heading"]),
            privacy_table(sheet, found["body"]),
            Paragraph(text(f"样本 sample: {sheet.sample_note}"), found["body"]),
            Paragraph(text(f"变更 changes: {sheet.changes_note}"), found["body"]),
        ]
    )
    return out.getvalue()


def printed_form(
    registry: Registry, catalog: Catalog, request_id: int, actor: str
) -> tuple[bytes, Decision | None]:
    """The 出域审核单 of a request as `actor` prints it, with the approval the verified chain
    records (approved or published; none for a request never approved); audited
    `egress.form_printed`. Raises `RegistryError` for an approval the chain does not vouch for."""
    sheet = review_sheet(registry, catalog, request_id)
    decision = registry.verified_approval(request_id)
    pdf = review_form_pdf(sheet, decision, actor)
    registry.audit(
        actor,
        "egress.form_printed",
        f"request/{request_id}",
        {
            "content_hash": sheet.request["content_hash"],
            "decision_entry": decision and decision.entry_id,
        },
    )
    return pdf, decision
