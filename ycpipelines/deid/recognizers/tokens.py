"""Word tokens with their offsets, from the NLP engine's artifacts (segmented once per text)."""

from dataclasses import dataclass

from presidio_analyzer.nlp_engine import NlpArtifacts

HAN_RANGE = ("\u4e00", "\u9fff")


@dataclass(frozen=True)
class Token:
    text: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.text)


def tokens_of(artifacts: NlpArtifacts) -> list[Token]:
    return [Token(t, s) for t, s in zip(artifacts.lemmas, artifacts.tokens_indices, strict=True)]


def is_han(text: str) -> bool:
    return bool(text) and all(HAN_RANGE[0] <= ch <= HAN_RANGE[1] for ch in text)
