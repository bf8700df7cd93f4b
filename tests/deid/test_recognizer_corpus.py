"""Per-type recall and precision of the Chinese recognizers on the labelled corpus.

`generated.jsonl` comes from templates with real name and place distributions, `faker.jsonl`
from the same templates with Faker's zh_CN values (see `corpus/generate.py`); `hard.jsonl`
holds hand-written hard cases and decoys, known misses included. Structured
identifiers must be found with their exact span; a name or place counts when the finding
overlaps it (an address may be cut a character differently and is still redacted).
"""

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from ycpipelines.deid.analyzer import find

CORPUS = Path(__file__).with_name("corpus")
FREE_TEXT = {"PERSON", "LOCATION"}
RECALL_STRUCTURED = 0.99
RECALL_FREE_TEXT = 0.95
PRECISION = 0.95
GENERATED = ("generated.jsonl", "faker.jsonl")
HARD = "hard.jsonl"


def load(name: str) -> list[dict]:
    lines = (CORPUS / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def matches(entity: str, a: tuple[int, int], b: tuple[int, int]) -> bool:
    if entity in FREE_TEXT:
        return a[0] < b[1] and b[0] < a[1]
    return a == b


def score(examples: list[dict]) -> dict[str, dict[str, float]]:
    """Per entity type: gold spans, found, predictions, correct predictions, recall, precision."""
    counts: dict[str, Counter] = {}
    for example in examples:
        gold = [(s["entity_type"], (s["start"], s["end"])) for s in example["spans"]]
        predicted = [(r.entity_type, (r.start, r.end)) for r in find(example["text"])]
        for entity, span in gold:
            c = counts.setdefault(entity, Counter())
            c["gold"] += 1
            c["found"] += any(e == entity and matches(e, span, p) for e, p in predicted)
        for entity, span in predicted:
            c = counts.setdefault(entity, Counter())
            c["predicted"] += 1
            c["correct"] += any(e == entity and matches(e, g, span) for e, g in gold)
    table = {}
    for entity, c in sorted(counts.items()):
        table[entity] = {
            **c,
            "recall": c["found"] / c["gold"] if c["gold"] else 1.0,
            "precision": c["correct"] / c["predicted"] if c["predicted"] else 1.0,
        }
    return table


def test_the_corpus_files_are_what_their_generator_writes() -> None:
    files = (*GENERATED, HARD)
    before = {name: (CORPUS / name).read_bytes() for name in files}
    subprocess.run([sys.executable, str(CORPUS / "generate.py")], check=True)
    assert {name: (CORPUS / name).read_bytes() for name in files} == before


def test_recall_and_precision_per_type() -> None:
    """Targets hold on the whole corpus; each file's table is printed (`pytest -s`)."""
    for name in (*GENERATED, HARD):
        print(f"\n{name}")
        print_table(score(load(name)))
    table = score([example for name in (*GENERATED, HARD) for example in load(name)])
    predicted = sum(row["predicted"] for row in table.values())
    correct = sum(row["correct"] for row in table.values())
    assert correct / predicted >= PRECISION
    for entity, row in table.items():
        if row["gold"]:
            target = RECALL_FREE_TEXT if entity in FREE_TEXT else RECALL_STRUCTURED
            assert row["recall"] >= target, (entity, row)


def print_table(table: dict[str, dict[str, float]]) -> None:
    print("| entity type | spans | recall | findings | precision |")
    print("|---|---:|---:|---:|---:|")
    for entity, row in table.items():
        print(
            f"| {entity} | {row['gold']} | {row['recall']:.3f} | {row['predicted']} "
            f"| {row['precision']:.3f} |"
        )
    predicted = sum(row["predicted"] for row in table.values())
    correct = sum(row["correct"] for row in table.values())
    print(
        f"| all | {sum(row['gold'] for row in table.values())} | | {predicted} "
        f"| {correct / predicted:.3f} |"
    )
