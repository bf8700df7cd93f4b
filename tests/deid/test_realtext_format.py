"""The real-text development set (真实文本开发集) is well-formed: exact offsets, no overlaps,
≥ 120 records per genre, every label present, identifiers valid where they must be, the
.jsonl in step with its marked .txt, and no sentence shared with another file or the
templated corpus. Recall thresholds on this set live with the recognizer, not here."""

import importlib.util
import json
import re
from collections import Counter
from pathlib import Path

import pytest
from realtext_set import GENRES, HERE, LABELS, Record, Span, load, score
from stdnum import luhn
from stdnum.cn import ric, uscc

CORPUS = Path(__file__).with_name("corpus")
PROVINCES = re.findall(
    r"\S+",
    "北京 天津 河北 山西 内蒙古 辽宁 吉林 黑龙江 上海 江苏 浙江 安徽 福建 江西 山东 河南 湖北 "
    "湖南 广东 广西 海南 重庆 四川 贵州 云南 西藏 陕西 甘肃 青海 宁夏 新疆 香港 澳门 台湾",
)
MOBILE = re.compile(r"(\+86 ?)?1[3-9]\d( ?\d{4}){2}|1[3-9]\d{9}")
LANDLINE = re.compile(r"(0\d{2,3}-|（0\d{2,3}）)\d{7,8}")
PASSPORT = re.compile(r"(E[0-9A-HJ-NP-Z]\d{7}|[EG]\d{8})")
PLATE = re.compile(r"[\u4e00-\u9fff][A-Z][·\-]?[A-HJ-NP-Z0-9]{5,6}")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
CARD_CUE = "卡号"


def _build_module():
    spec = importlib.util.spec_from_file_location("realtext_build", HERE / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _all() -> dict[str, list[Record]]:
    return {genre: load(genre) for genre in GENRES}


@pytest.mark.parametrize("genre", GENRES)
def test_offsets_exact_and_spans_apart(genre: str) -> None:
    records = load(genre)
    assert len(records) >= 120
    for record in records:
        last_end = 0
        for span in sorted(record.spans, key=lambda s: s.start):
            piece = record.text[span.start : span.end]
            assert 0 <= span.start < span.end <= len(record.text), record.text
            assert span.label in LABELS, span.label
            assert piece == piece.strip() and piece.strip('，。、；："“”') == piece, piece
            assert span.start >= last_end, f"overlap in: {record.text}"
            last_end = span.end


@pytest.mark.parametrize("genre", GENRES)
def test_jsonl_is_the_marked_text(genre: str) -> None:
    build = _build_module()
    marked = [build.parse(line) for line in build.lines(HERE / f"{genre}.txt")]
    stored = [json.loads(x) for x in (HERE / f"{genre}.jsonl").read_text("utf-8").splitlines()]
    assert marked == stored


def test_every_label_present_and_each_genre_has_the_free_text_ones() -> None:
    counts = {g: Counter(s.label for r in rs for s in r.spans) for g, rs in _all().items()}
    assert set(LABELS) <= set(sum(counts.values(), Counter()))
    for genre, count in counts.items():
        assert min(count[x] for x in ("PERSON", "LOCATION", "ORGANIZATION")) >= 10, genre


def test_names_and_places_of_every_origin() -> None:
    spans = [
        (r.text[s.start : s.end], s.label) for rs in _all().values() for r in rs for s in r.spans
    ]
    people = [text for text, label in spans if label == "PERSON"]
    places = "".join(text for text, label in spans if label == "LOCATION")
    assert sum("·" in p for p in people) >= 10
    assert sum(p.isascii() for p in people) >= 10
    assert (
        sum(
            p[:2] in ("欧阳", "司马", "东方", "南宫", "诸葛", "端木", "司徒", "公孙")
            for p in people
        )
        >= 8
    )
    assert sum(p.endswith("某") or p.startswith("老") for p in people) >= 8
    assert [p for p in PROVINCES if p not in places] == []


def _valid(label: str, value: str, before: str) -> bool:
    compact = value.replace(" ", "").replace("-", "")
    checks = {
        "CN_RESIDENT_ID": lambda: ric.is_valid(compact),
        "CN_USCC": lambda: uscc.is_valid(compact),
        "CN_BANK_CARD": lambda: luhn.is_valid(compact) or CARD_CUE in before,
        "PHONE_NUMBER": lambda: bool(MOBILE.fullmatch(value) or LANDLINE.fullmatch(value)),
        "CN_PASSPORT": lambda: bool(PASSPORT.fullmatch(value)),
        "CN_LICENSE_PLATE": lambda: bool(PLATE.fullmatch(value)),
        "EMAIL_ADDRESS": lambda: bool(EMAIL.fullmatch(value)),
    }
    return checks[label]() if label in checks else True


def test_structured_identifiers_valid_or_next_to_their_cue() -> None:
    """Resident IDs and USCCs pass their checksums; a bank card failing Luhn counts only right
    after a 卡号 cue (医保卡号, 银行卡号), as people write a mistyped number there."""
    bad, failing_cards = [], 0
    for records in _all().values():
        for record in records:
            for span in record.spans:
                value = record.text[span.start : span.end]
                before = record.text[max(0, span.start - 8) : span.start]
                if not _valid(span.label, value, before):
                    bad.append((span.label, len(value)))
                if span.label == "CN_BANK_CARD" and not luhn.is_valid(value.replace(" ", "")):
                    failing_cards += 1
    assert bad == []
    assert failing_cards >= 3


def test_no_sentence_twice_nor_from_the_templated_corpus() -> None:
    texts = [r.text for rs in _all().values() for r in rs]
    assert [t for t, n in Counter(texts).items() if n > 1] == []
    templated = {
        json.loads(line)["text"]
        for path in CORPUS.glob("*.jsonl")
        for line in path.read_text("utf-8").splitlines()
        if line.strip()
    }
    assert templated.isdisjoint(texts)


def test_score_counts_half_overlap_per_group() -> None:
    gold = [
        Record(
            "住址：金凤区阅海万家D区3号楼2单元501室，马建国",
            (
                Span(3, 23, "LOCATION"),
                Span(24, 27, "PERSON"),
            ),
        )
    ]
    # A find cut after the district covers 3 of 20 characters: missed, but no false alarm.
    assert score([[(3, 6, "LOCATION")]], gold, {"LOCATION"}) == (0.0, 1.0)
    assert score([[(3, 13, "LOC")]], gold, {"LOCATION"}) == (1.0, 1.0)
    # Same place, wrong group: neither found nor right; a name elsewhere is a false alarm.
    assert score([[(3, 23, "PERSON")]], gold, {"PERSON"}) == (0.0, 0.0)
    assert score([[{"start": 25, "end": 27, "entity_type": "PERSON"}]], gold, {"PERSON"}) == (
        1.0,
        1.0,
    )
    assert score([[(0, 2, "PERSON"), (24, 27, "PER")]], gold, {"PERSON"}) == (1.0, 0.5)
    assert score([[]], gold, {"ORGANIZATION"}) == (1.0, 1.0)
    with pytest.raises(ValueError):
        score([], gold, {"PERSON"})
