"""Word tokens with their offsets, from the NLP engine's artifacts (segmented once per text)."""

import re
from typing import NamedTuple

from presidio_analyzer.nlp_engine import NlpArtifacts

HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")


class Token(NamedTuple):
    text: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.text)


def tokens_of(artifacts: NlpArtifacts) -> list[Token]:
    return list(map(Token, artifacts.lemmas, artifacts.tokens_indices))


def is_han(text: str) -> bool:
    return HAN_RUN.fullmatch(text) is not None
