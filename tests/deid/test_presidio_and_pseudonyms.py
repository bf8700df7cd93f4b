"""Presidio works offline on Chinese text; pseudonyms in SQL equal the keyed HMAC."""

import hashlib
import hmac

import duckdb
import pytest

from ycpipelines.deid.analyzer import analyzer, redact
from ycpipelines.deid.pseudonym import PSEUDONYM_HEX, install_pseudonym

ID = "640122197203045511"


@pytest.mark.parametrize("key", ["k", "a much longer key " * 6])
def test_sql_pseudonyms_equal_python_hmac(key: str) -> None:
    con = duckdb.connect()
    install_pseudonym(con, key)
    values = [ID, "王芳", "MZ2025063000000001", ""]
    got = [con.execute("SELECT yc_pseudonym($1)", [v]).fetchone()[0] for v in values]
    want = [
        hmac.new(key.encode(), v.encode(), hashlib.sha256).hexdigest()[:PSEUDONYM_HEX]
        for v in values
    ]
    assert got == want
    assert con.execute("SELECT yc_pseudonym(NULL)").fetchone()[0] is None


@pytest.mark.parametrize(
    ("text", "entity", "found"),
    [
        (f"身份证号{ID}已核验", "CN_RESIDENT_ID", ID),  # glued to Chinese, no word boundary
        ("旧证640122720304551", "CN_RESIDENT_ID", "640122720304551"),
        ("电话+86 138 1234 5678。", "PHONE_NUMBER", "+86 138 1234 5678"),
        ("座机0951-5012345", "PHONE_NUMBER", "0951-5012345"),
    ],
)
def test_chinese_identifiers_are_found(text: str, entity: str, found: str) -> None:
    results = analyzer().analyze(text, language="zh")
    assert (entity, found) in {(r.entity_type, text[r.start : r.end]) for r in results}


def test_invalid_numbers_are_not_reported() -> None:
    results = analyzer().analyze("编号640122197203045512,流水13812", language="zh")
    assert {r.entity_type for r in results} & {"CN_RESIDENT_ID", "PHONE_NUMBER"} == set()


def test_redaction_leaves_no_identifier() -> None:
    note = f"患者张伟,身份证{ID},电话13812345678,住银川市兴庆区,主诉头痛三天"
    redacted = redact(note)
    for secret in (ID, "13812345678", "张伟", "兴庆区"):
        assert secret not in redacted
    assert "<CN_RESIDENT_ID>" in redacted and "<PHONE_NUMBER>" in redacted
    assert "主诉头痛三天" in redacted


def test_the_residual_scan_finds_identifiers_however_they_are_written(tmp_path) -> None:
    from ycpipelines.deid.privacy import residual_identifiers

    path = tmp_path / "safe.parquet"
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * FROM (VALUES ('电话138 1234 5678'), ('+86-138-1234-5678'), "
        f"('证号{ID}'), ('旧证640122720304551'), ('检查费 1380 元'), ('无')) t(note)) "
        f"TO '{path}' (FORMAT parquet)"
    )
    assert residual_identifiers(con, path, ["note"]) == {"note": 4}
