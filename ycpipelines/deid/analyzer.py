"""The Presidio analyzer and anonymizer for Chinese public data, built offline, and the
free-text redaction the de-identification stage runs on both cores."""

import multiprocessing
import os
import re
import signal
from copy import copy
from functools import cache, lru_cache
from multiprocessing.pool import Pool

from presidio_analyzer import AnalyzerEngine, RecognizerRegistry, RecognizerResult
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig

from ycpipelines.deid import ner
from ycpipelines.deid.context import UnsettledContextEnhancer
from ycpipelines.deid.nlp import JiebaNlpEngine
from ycpipelines.deid.recognizers import chinese_recognizers
from ycpipelines.deid.recognizers.license_plate import PROVINCES

LANGUAGE = "zh"
# Findings below this score are candidates no validation or context word supported.
SCORE_THRESHOLD = 0.4
# Below this many texts a process pool costs more (workers load Presidio) than it saves.
PARALLEL_FROM = 2_000
CHUNK = 500
FOUND_CACHED = 100_000
LONG_NUMBER = re.compile(r"[0-9０-９]{4}")
# A plain date or timestamp as DuckDB writes one (a DATE or TIMESTAMP column cast to text):
# ASCII digit runs of at most six, one separator apart, no letter. No recognizer proposes
# anything in such a text, at any score (tested), so it is not analyzed.
MOMENT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?: [0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?)?")
FOLD = str.maketrans("123456789１２３４５６７８９", "000000000０００００００００")
# What must be in a text for an entity type to be possible (None: always possible).
HINTS: dict[str, re.Pattern[str] | None] = {
    "PERSON": None,
    "LOCATION": None,
    "ORGANIZATION": None,
    "CN_RESIDENT_ID": re.compile(r"\d{4}"),
    "PHONE_NUMBER": re.compile(r"\d{4}"),
    "CN_BANK_CARD": re.compile(r"\d{4}"),
    "CN_USCC": re.compile(r"\d{6}"),
    "CN_PASSPORT": re.compile(r"[A-Za-z]\d{6}"),
    "CN_LICENSE_PLATE": re.compile(rf"[{PROVINCES}][A-Za-z]"),
    "EMAIL_ADDRESS": re.compile("@"),
}


@cache
def analyzer() -> AnalyzerEngine:
    """Analyzer from an explicit NLP engine and registry: nothing is downloaded at start-up."""
    registry = RecognizerRegistry(supported_languages=[LANGUAGE])
    for recognizer in chinese_recognizers(LANGUAGE):
        registry.add_recognizer(recognizer)
    return AnalyzerEngine(
        nlp_engine=JiebaNlpEngine(),
        registry=registry,
        supported_languages=[LANGUAGE],
        default_score_threshold=SCORE_THRESHOLD,
        context_aware_enhancer=UnsettledContextEnhancer(SCORE_THRESHOLD),
    )


@cache
def anonymizer() -> AnonymizerEngine:
    return AnonymizerEngine()


@cache
def _tags() -> dict[str, OperatorConfig]:
    return {
        entity: OperatorConfig("replace", {"new_value": f"<{entity}>"})
        for entity in analyzer().get_supported_entities(LANGUAGE)
    }


def united(results: list[RecognizerResult]) -> list[RecognizerResult]:
    """Overlapping findings of one entity type as one finding over their union, at the best
    score: a rule's 阿依古丽 and the model's 阿依古丽·买买提 are one name."""
    merged: list[RecognizerResult] = []
    for result in sorted(results, key=lambda r: (r.entity_type, r.start, -r.end)):
        last = merged[-1] if merged else None
        if last and last.entity_type == result.entity_type and result.start < last.end:
            best = last if last.score >= result.score else result
            merged[-1] = RecognizerResult(
                best.entity_type,
                last.start,
                max(last.end, result.end),
                best.score,
                best.analysis_explanation,
                best.recognition_metadata,
            )
        else:
            merged.append(result)
    return merged


def resolve(results: list[RecognizerResult]) -> list[RecognizerResult]:
    """Non-overlapping findings in text order: same-type overlaps united, then where two
    overlap, the higher score wins, then the longer span (an 18-digit ID over a bank-card
    reading of the same digits)."""
    kept: list[RecognizerResult] = []
    for result in sorted(united(results), key=lambda r: (-r.score, r.start - r.end, r.start)):
        if all(result.end <= k.start or result.start >= k.end for k in kept):
            kept.append(result)
    return sorted(kept, key=lambda r: r.start)


def applicable(text: str) -> list[str]:
    """The entity types a text could hold at all: recognizers for the others are not run."""
    return [entity for entity, hint in HINTS.items() if hint is None or hint.search(text)]


def folded(text: str) -> str:
    """The text the findings of `text` are computed and cached on: its digits folded to 0 when
    no run of four or more digits is in it. Then no recognizer whose verdict depends on a
    digit's value can apply (each needs such a run; see `HINTS`), and every other one reads
    digits as digits, so the findings, offsets included, are the same (tested): 45岁 and 62岁,
    症状3天 and 症状9天 are one analysis."""
    return text if LONG_NUMBER.search(text) else text.translate(FOLD)


@lru_cache(maxsize=FOUND_CACHED)
def _found(key: str, context: tuple[str, ...] | None) -> tuple[RecognizerResult, ...]:
    entities = applicable(key)
    found = analyzer().analyze(
        key, language=LANGUAGE, entities=entities, context=list(context) if context else None
    )
    return tuple(resolve(found))


def find(text: str, context: list[str] | None = None) -> list[RecognizerResult]:
    """Entities in one text, non-overlapping; `context` (e.g. a column name) boosts scores.
    Each distinct text (digits folded, see `folded`) is analyzed once per process; a plain
    date or timestamp (`MOMENT`) never is."""
    if MOMENT.fullmatch(text):
        return []
    return [copy(r) for r in _found(folded(text), tuple(context) if context else None)]


def candidates(text: str, context: list[str] | None = None) -> list[RecognizerResult]:
    """Every finding each recognizer proposed, whatever its score, before any is resolved."""
    return analyzer().analyze(
        text,
        language=LANGUAGE,
        entities=applicable(text),
        context=context,
        score_threshold=0,
        return_decision_process=True,
    )


def redact(text: str) -> str:
    """Replace every entity found with its type tag, e.g. `<CN_RESIDENT_ID>`."""
    findings = find(text)
    if not findings:
        return text
    return anonymizer().anonymize(text=text, analyzer_results=findings, operators=_tags()).text


def _redact_chunk(texts: list[str]) -> list[str]:
    ner.prime(texts)
    return [redact(t) for t in texts]


def _load() -> None:
    """A worker's start: the default SIGTERM (an ignored one inherited from the process that
    spawned the pool would keep the pool's `terminate` and exit from stopping it), the models."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    analyzer().nlp_engine.load()
    ner.model()


def _cores() -> int:
    """Cores this process may run on (a container's cpuset, not the whole node)."""
    return len(os.sched_getaffinity(0))


@cache
def _pool() -> Pool:
    """Workers that load the analyzer once each and serve every later call in this process.
    Spawned, not forked: the calling step has DuckDB's threads running. A `multiprocessing`
    pool, not a `ProcessPoolExecutor`: its workers are daemons that it terminates when this
    process exits, while an executor's workers would be joined forever by a process that is
    itself a spawned child (a Dagster step, a benchmark contender)."""
    return multiprocessing.get_context("spawn").Pool(_cores(), initializer=_load)


def close() -> None:
    """Stop this process's redaction workers (a later call starts new ones)."""
    if _pool.cache_info().currsize:
        _pool().close()
        _pool().join()
        _pool.cache_clear()


def redact_texts(texts: list[str]) -> list[str]:
    """Redact many free texts, in order; the de-identification stage calls this once per column
    with its distinct texts. Large batches are split into chunks over a process per core."""
    if len(texts) < PARALLEL_FROM or _cores() == 1:
        return _redact_chunk(texts)
    chunks = [texts[i : i + CHUNK] for i in range(0, len(texts), CHUNK)]
    return [text for chunk in _pool().map(_redact_chunk, chunks, chunksize=1) for text in chunk]
