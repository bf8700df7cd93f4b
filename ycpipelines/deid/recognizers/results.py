"""Findings of the segment-based recognizers, shaped like Presidio's own (with an explanation,
which the context enhancer updates)."""

from presidio_analyzer import AnalysisExplanation, EntityRecognizer, RecognizerResult


def finding(
    recognizer: EntityRecognizer,
    start: int,
    end: int,
    score: float,
    rule: str,
    entity: str | None = None,
) -> RecognizerResult:
    """A finding of `entity` (default: the recognizer's first entity type)."""
    return RecognizerResult(
        entity or recognizer.supported_entities[0],
        start,
        end,
        score,
        analysis_explanation=AnalysisExplanation(
            recognizer=recognizer.name, original_score=score, textual_explanation=rule
        ),
        recognition_metadata={
            RecognizerResult.RECOGNIZER_NAME_KEY: recognizer.name,
            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: recognizer.id,
        },
    )
