"""The real-text development set (真实文本开发集): hand-written records per genre and their scoring.

Records live in `realtext/<genre>.jsonl` (built from the marked `realtext/<genre>.txt`; label
rules in `realtext/README.md`). `score` counts a gold span found when a prediction of the same
label group overlaps at least half of it, and a prediction right when it overlaps at least half
of a gold span of its group or lies at least half inside one (a name cut short is still no
false alarm). Scores are per genre and per group; never pool the files.
"""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).with_name("realtext")
GENRES = ("hotline", "clinical", "notices", "news")
FREE_TEXT = ("PERSON", "LOCATION", "ORGANIZATION")
STRUCTURED = (
    "CN_RESIDENT_ID",
    "PHONE_NUMBER",
    "CN_BANK_CARD",
    "CN_USCC",
    "CN_PASSPORT",
    "CN_LICENSE_PLATE",
    "EMAIL_ADDRESS",
)
LABELS = FREE_TEXT + STRUCTURED
# Names other tools give the same group (spaCy/LAC style tags), folded before matching.
ALIASES = {"PER": "PERSON", "LOC": "LOCATION", "GPE": "LOCATION", "ORG": "ORGANIZATION"}


@dataclass(frozen=True)
class Span:
    """One labelled span: [start, end) in the record's text."""

    start: int
    end: int
    label: str


@dataclass(frozen=True)
class Record:
    """One sentence or short passage and its gold spans."""

    text: str
    spans: tuple[Span, ...]

    def of(self, label: str) -> list[str]:
        """The texts of this record's spans of `label`."""
        return [self.text[s.start : s.end] for s in self.spans if s.label == label]


def load(genre: str) -> list[Record]:
    """The records of one genre, in file order."""
    if genre not in GENRES:
        raise ValueError(f"unknown genre {genre!r}; one of {GENRES}")
    lines = (HERE / f"{genre}.jsonl").read_text(encoding="utf-8").splitlines()
    return [_record(json.loads(line)) for line in lines if line.strip()]


def _record(raw: dict) -> Record:
    spans = tuple(Span(int(s["start"]), int(s["end"]), str(s["label"])) for s in raw["spans"])
    return Record(text=str(raw["text"]), spans=spans)


def _as_span(item: Span | tuple | dict) -> Span:
    """Accept a Span, a (start, end, label) tuple or a dict with `label` or `entity_type`."""
    if isinstance(item, Span):
        start, end, label = item.start, item.end, item.label
    elif isinstance(item, dict):
        start, end = item["start"], item["end"]
        label = item.get("label") or item["entity_type"]
    else:
        start, end, label = item
    return Span(int(start), int(end), ALIASES.get(label, label))


def _overlap(a: Span, b: Span) -> int:
    return max(0, min(a.end, b.end) - max(a.start, b.start))


def _found(gold: Span, predicted: Iterable[Span]) -> bool:
    """A gold span is found when one prediction covers at least half of it."""
    return any(2 * _overlap(gold, p) >= gold.end - gold.start for p in predicted)


def _right(prediction: Span, gold: Iterable[Span]) -> bool:
    """A prediction is right when it covers half a gold span or lies half inside one."""
    size = prediction.end - prediction.start
    return any(
        2 * _overlap(prediction, g) >= min(size, g.end - g.start) and _overlap(prediction, g) > 0
        for g in gold
    )


def score(
    predicted: Sequence[Iterable[Span | tuple | dict]],
    gold: Sequence[Record],
    labels: Iterable[str],
) -> tuple[float, float]:
    """(recall, precision) of `predicted` (one span list per record) against `gold` for the
    label group `labels` (e.g. {"PERSON"}); an empty side scores 1.0."""
    if len(predicted) != len(gold):
        raise ValueError("one prediction list per gold record")
    group = {ALIASES.get(x, x) for x in labels}
    hits = golds = right = made = 0
    for guesses, record in zip(predicted, gold, strict=True):
        mine = [s for s in map(_as_span, guesses) if s.label in group]
        truth = [s for s in record.spans if s.label in group]
        golds += len(truth)
        hits += sum(_found(g, mine) for g in truth)
        made += len(mine)
        right += sum(_right(p, truth) for p in mine)
    return (hits / golds if golds else 1.0, right / made if made else 1.0)
