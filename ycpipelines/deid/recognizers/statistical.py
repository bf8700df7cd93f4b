"""PERSON, LOCATION and ORGANIZATION from the statistical model (`ycpipelines.deid.ner`), with
the rules' edges added: a place runs on to the door (`location.address_end`), and the parts of
a name the model split (John | Smith, 阿依古丽 | ·买买提) are one name."""

import re

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from ycpipelines.deid import ner
from ycpipelines.deid.nlp import dictionary_tag, word_frequency
from ycpipelines.deid.recognizers.location import address_end
from ycpipelines.deid.recognizers.person import CUE_WORDS
from ycpipelines.deid.recognizers.results import finding

SCORES = {"PERSON": 0.8, "LOCATION": 0.8, "ORGANIZATION": 0.5}
# Organizations score below the rules' names and places: the model's organization stops a
# place being read out of an organization's name, but never hides a name a rule found.
# The model's place that is an everyday dictionary word, not a place name (开户): no place.
EVERYDAY = 50
# Between two parts of one name: a space (John Smith) or a middle dot (阿依古丽·买买提).
NAME_JOIN = re.compile(r"[ ·•・.]")
# What follows a name the model stopped short of (华贸 | 中心): the place or body it names.
LANDMARK = re.compile(
    r"中心|大厦|广场|商场|商城|市场|公园|花园|博物馆|纪念馆|体育馆|图书馆|大剧院|剧院|影城|酒店"
    r"|宾馆|饭店|超市|小区|大楼|写字楼|景区|步行街"
)
# Right after a person's cue (来电人, 患者), a short span the model took for a place or body
# (尕西措) is the person, unless it ends like a place or an organization.
PERSON_CUE = re.compile(rf"(?:{CUE_WORDS})[:：\s]*$")
NOT_A_PERSON_END = re.compile(r"[省市区县镇乡村路街巷社院校司局厅所站馆店厂]$")
# A tag an earlier step put in place of an identifier (<PERSON>): no name of its own.
TAG = re.compile(r"<[A-Z_]+>")


def _joined(text: str, found: list[ner.Entity]) -> list[ner.Entity]:
    """Adjacent PERSON spans separated by one joining character become one span."""
    joined: list[ner.Entity] = []
    for entity in found:
        last = joined[-1] if joined else None
        if (
            last
            and entity.label == last.label == "PERSON"
            and entity.start == last.end + 1
            and NAME_JOIN.fullmatch(text[last.end])
        ):
            joined[-1] = last._replace(end=entity.end)
        else:
            joined.append(entity)
    return joined


def _cued_person(text: str, entity: ner.Entity) -> ner.Entity:
    """The model's place or organization right after a person's cue word, read as the person."""
    word = text[entity.start : entity.end]
    if (
        entity.label != "PERSON"
        and len(word) <= 6
        and not NOT_A_PERSON_END.search(word)
        and PERSON_CUE.search(text, max(0, entity.start - 8), entity.start)
    ):
        return entity._replace(label="PERSON")
    return entity


def _everyday(word: str, label: str) -> bool:
    """A place the model read into an ordinary word of the dictionary."""
    return (
        label == "LOCATION"
        and word_frequency(word) > EVERYDAY
        and (dictionary_tag(word) or "").startswith("ns") is False
    )


class ModelRecognizer(EntityRecognizer):
    """Names, places and organizations the model labels, places extended to the door."""

    def __init__(self, supported_language: str = "zh") -> None:
        super().__init__(
            supported_entities=["PERSON", "LOCATION", "ORGANIZATION"],
            supported_language=supported_language,
            name="ModelRecognizer",
        )

    def load(self) -> None:
        ner.model()

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        results = []
        tags = [m.span() for m in TAG.finditer(text)] if "<" in text else []
        for entity in _joined(text, [_cued_person(text, e) for e in ner.entities(text)]):
            if (
                entity.label not in entities
                or any(entity.start < end and start < entity.end for start, end in tags)
                or _everyday(text[entity.start : entity.end], entity.label)
            ):
                continue
            end = entity.end
            if entity.label != "PERSON" and (landmark := LANDMARK.match(text, end)):
                end = landmark.end()
            if entity.label == "LOCATION":
                end = address_end(text, end)
            results.append(
                finding(self, entity.start, end, SCORES[entity.label], "model", entity.label)
            )
        return results
