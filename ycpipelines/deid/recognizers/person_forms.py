"""PERSON in the forms people write besides a full Chinese name: a surname with a title or
kin word (李总, 王医生, 赛大姐), 老/小 with a surname (老刘, 小李), a name of any origin before
its gender (旦增，男), and Latin-script names (Wang Jun, Sarah O'Connor; after a cue word, one
word: 患者Emily). For de-identification these are finds: they point at one person."""

import re

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from ycpipelines.deid.nlp import in_dictionary, word_frequency
from ycpipelines.deid.recognizers.boundaries import HAN
from ycpipelines.deid.recognizers.person import CUE_BEFORE
from ycpipelines.deid.recognizers.results import finding
from ycpipelines.deid.recognizers.surnames import COMMON, COMPOUND, SINGLE


def _surnames(single: frozenset[str]) -> str:
    return "|".join([*COMPOUND, f"[{''.join(sorted(single))}]"])


TITLE = (
    "先生|女士|小姐|医生|医师|大夫|护士|老师|教授|师傅|大姐|大哥|大妈|大爷|阿姨|大叔|奶奶|爷爷"
    "|处长|局长|科长|所长|院长|校长|主任|书记|经理|老板|总|某某|某"
)
# A title confirms any surname (南处长); 老/小 only a common one (老师 is no person).
TITLED = re.compile(rf"(?:{_surnames(SINGLE)})(?:{TITLE})")
FAMILIAR = re.compile(rf"[老小](?:{_surnames(COMMON)})")
# A familiar form the dictionary counts more often than this is an everyday word (老师, 小米).
FAMILIAR_FREQUENCY = 200
GENDERED = re.compile(rf"([{HAN}·]{{2,8}})[，,]\s*[男女](?=[，,。；;\s（(]|性|$)")
LATIN_WORD = r"[A-Z][a-z]*(?:['\-][A-Za-z][a-z]+)*"
LATIN_NAME = re.compile(rf"(?<![A-Za-z]){LATIN_WORD}(?:\s{LATIN_WORD}){{1,3}}(?![A-Za-z])")
LATIN_AFTER_CUE = re.compile(rf"{LATIN_WORD}(?![A-Za-z])")
SCORE = 0.65


def _titled(text: str) -> list[tuple[int, int]]:
    """Surname + title, unless the surname ends a word before it (检查医生: 查 is no surname)."""
    return [
        m.span()
        for m in TITLED.finditer(text)
        if m.start() == 0 or not in_dictionary(text[m.start() - 1 : m.start() + 1])
    ]


def _familiar(text: str) -> list[tuple[int, int]]:
    return [
        m.span() for m in FAMILIAR.finditer(text) if word_frequency(m.group()) <= FAMILIAR_FREQUENCY
    ]


def _gendered(text: str) -> list[tuple[int, int]]:
    """A run right before `，男` / `，女`, less a cue word it starts with (患者旦增 → 旦增)."""
    spans = []
    for match in GENDERED.finditer(text):
        start, end = match.span(1)
        while cue := CUE_BEFORE.match(text, start, end):
            start = cue.end()
        if end - start >= 2:
            spans.append((start, end))
    return spans


def _latin(text: str) -> list[tuple[int, int]]:
    spans = [m.span() for m in LATIN_NAME.finditer(text) if not m.group().isupper()]
    for cue in CUE_BEFORE.finditer(text):
        if word := LATIN_AFTER_CUE.match(text, cue.end()):
            spans.append(word.span())
    return spans


class PersonFormsRecognizer(EntityRecognizer):
    """PERSON in titled, familiar, gendered and Latin-script forms."""

    def __init__(self, supported_language: str = "zh") -> None:
        super().__init__(
            supported_entities=["PERSON"],
            supported_language=supported_language,
            name="PersonFormsRecognizer",
        )

    def load(self) -> None:
        pass

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        rules = {
            "surname + title": _titled,
            "老/小 + surname": _familiar,
            "name before its gender": _gendered,
            "Latin-script name": _latin,
        }
        return [
            finding(self, start, end, SCORE, rule)
            for rule, spans_of in rules.items()
            for start, end in spans_of(text)
        ]
