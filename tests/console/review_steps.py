"""Steps a reviewer takes on the review desk (审核台) in a real browser, shared by the browser
tests: open a pending 出域 request from the desk, read its evidence and approve it; print the
出域审核单."""

import io
from pathlib import Path

from playwright.sync_api import Page, expect
from pypdf import PdfReader

from ycpipelines.registry import Registry

from helpers import screenshot

SECTIONS = ("字段", "质量", "残留标识", "隐私核验", "脱敏样例", "贡献")
COMMENT = "字段清单与授权一致，隐私核验通过，同意出域"


def approve_on_desk(
    page: Page, url: str, request_id: int, shots: Path, prefix: str = "console"
) -> None:
    """From the desk, open request `request_id`, read its evidence, approve it with a comment;
    screenshots `<prefix>-desk` and `<prefix>-request`."""
    page.click("header nav >> text=审核台")
    page.wait_for_url(f"{url}/desk")
    screenshot(page, shots, f"{prefix}-desk")
    page.locator(f"a[href='/desk/{request_id}']").first.click()
    page.wait_for_url(f"{url}/desk/{request_id}")
    for section in SECTIONS:
        expect(page.locator("h2", has_text=section).first).to_be_visible()
    assert page.locator("table.sample tbody tr").count() <= 20
    screenshot(page, shots, f"{prefix}-request")
    page.fill("textarea[name=comment]", COMMENT)
    page.click("button[value=approve]")
    page.wait_for_load_state()


def approve_oldest(page: Page, url: str, registry: Registry, shots: Path) -> int:
    """On the desk, open the oldest pending request, read its evidence, approve it."""
    oldest = min(r.id for r in registry.requests("pending"))
    approve_on_desk(page, url, oldest, shots)
    return oldest


def printed_form(page: Page, url: str, request_id: int) -> str:
    """The 出域审核单 the request page offers, as text."""
    page.goto(f"{url}/desk/{request_id}")
    with page.expect_download() as download:
        page.click(f"a[href='/desk/{request_id}/form.pdf']")
    data = Path(download.value.path()).read_bytes()
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
