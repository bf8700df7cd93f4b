"""Turn the hand-written marked sentences (*.txt) into labelled records (*.jsonl).

真实文本开发集 (real-text development set): each non-comment line of `<genre>.txt` is one record;
`[[LABEL:text]]` marks a span. A `#` in a marked CN_RESIDENT_ID, CN_BANK_CARD or CN_USCC stands
for its check character: `--fill` writes the computed character back into the .txt first, so the
.txt and the .jsonl always hold the same text. Run `python tests/deid/realtext/build.py [--fill]`.
"""

import json
import re
import sys
from pathlib import Path

from stdnum import luhn
from stdnum.cn import ric, uscc

HERE = Path(__file__).parent
GENRES = ("hotline", "clinical", "notices", "news")
MARKED = re.compile(r"\[\[([A-Z_]+):(.+?)\]\]")


def _check_char(label: str, value: str) -> str:
    """The check character for `value` whose last character is the `#` placeholder."""
    body = value.replace(" ", "").replace("-", "")[:-1]
    if label == "CN_RESIDENT_ID":
        return ric.calc_check_digit(body + "0")
    if label == "CN_BANK_CARD":
        return luhn.calc_check_digit(body)
    if label == "CN_USCC":
        return uscc.calc_check_digit(body)
    raise ValueError(f"no check character for {label}")


def fill(line: str) -> str:
    """Replace each `#` placeholder at the end of a marked identifier by its check character."""

    def one(match: re.Match[str]) -> str:
        label, value = match.group(1), match.group(2)
        if not value.endswith("#"):
            return match.group(0)
        return f"[[{label}:{value[:-1]}{_check_char(label, value)}]]"

    return MARKED.sub(one, line)


def parse(line: str) -> dict[str, object]:
    """Marked line → {"text", "spans"} with offsets into the unmarked text."""
    text, spans, last = "", [], 0
    for match in MARKED.finditer(line):
        text += line[last : match.start()]
        start = len(text)
        text += match.group(2)
        spans.append({"start": start, "end": len(text), "label": match.group(1)})
        last = match.end()
    text += line[last:]
    if "[[" in text or "]]" in text:
        raise ValueError(f"unbalanced mark in: {line[:20]}…")
    return {"text": text, "spans": spans}


def lines(path: Path) -> list[str]:
    """The record lines of a marked file (blank lines and `#` comments skipped)."""
    raw = path.read_text(encoding="utf-8").splitlines()
    return [x.strip() for x in raw if x.strip() and not x.startswith("#")]


def build(genre: str, do_fill: bool) -> int:
    """Write `<genre>.jsonl` from `<genre>.txt`; return the record count."""
    source = HERE / f"{genre}.txt"
    if do_fill:
        raw = source.read_text(encoding="utf-8").splitlines()
        source.write_text(
            "\n".join(x if x.startswith("#") else fill(x) for x in raw) + "\n", encoding="utf-8"
        )
    records = [parse(x) for x in lines(source)]
    with (HERE / f"{genre}.jsonl").open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return len(records)


if __name__ == "__main__":
    for name in GENRES:
        if (HERE / f"{name}.txt").exists():
            print(name, build(name, "--fill" in sys.argv[1:]))
