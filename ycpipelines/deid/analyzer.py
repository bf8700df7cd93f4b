"""The Presidio analyzer and anonymizer for Chinese public data, built offline."""

from functools import cache

from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
from presidio_analyzer.predefined_recognizers import SpacyRecognizer
from presidio_anonymizer import AnonymizerEngine

from ycpipelines.deid.nlp import JiebaNlpEngine
from ycpipelines.deid.recognizers import PhoneRecognizer, ResidentIdRecognizer

LANGUAGE = "zh"


@cache
def analyzer() -> AnalyzerEngine:
    """Analyzer from an explicit NLP engine and registry: nothing is downloaded at start-up."""
    registry = RecognizerRegistry(supported_languages=[LANGUAGE])
    registry.add_recognizer(ResidentIdRecognizer(LANGUAGE))
    registry.add_recognizer(PhoneRecognizer(LANGUAGE))
    registry.add_recognizer(
        SpacyRecognizer(supported_language=LANGUAGE, supported_entities=["PERSON", "LOCATION"])
    )
    return AnalyzerEngine(
        nlp_engine=JiebaNlpEngine(), registry=registry, supported_languages=[LANGUAGE]
    )


@cache
def anonymizer() -> AnonymizerEngine:
    return AnonymizerEngine()


def redact_texts(texts: list[str]) -> list[str]:
    """Redact many free texts; the de-identification stage calls this once per column."""
    return [redact(t) for t in texts]


def redact(text: str) -> str:
    """Replace every entity found with its type tag, e.g. `<CN_RESIDENT_ID>`."""
    findings = analyzer().analyze(text, language=LANGUAGE)
    return anonymizer().anonymize(text=text, analyzer_results=findings).text
