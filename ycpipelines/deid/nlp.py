"""An offline Chinese NLP engine for Presidio: jieba segmentation and its name/place tags.

Nothing is downloaded: jieba ships its dictionary. Tokens carry lemmas (the words themselves),
so Presidio's context words work on Chinese text.
"""

import logging
from collections.abc import Iterable, Iterator

import jieba
import jieba.posseg
from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine
from spacy.tokens import Doc, Span
from spacy.vocab import Vocab

jieba.setLogLevel(logging.WARNING)

# jieba part-of-speech tags that name a person or a place.
ENTITY_TAGS = {"nr": "PERSON", "nrfg": "PERSON", "ns": "LOCATION"}


class JiebaNlpEngine(NlpEngine):
    """Presidio NLP engine for `zh` built on jieba.posseg."""

    def __init__(self) -> None:
        self.vocab = Vocab()
        self.tokenizer = jieba.posseg.POSTokenizer(jieba.Tokenizer())

    def load(self) -> None:
        self.tokenizer.tokenizer.initialize()

    def is_loaded(self) -> bool:
        return bool(self.tokenizer.tokenizer.initialized)

    def get_supported_languages(self) -> list[str]:
        return ["zh"]

    def get_supported_entities(self) -> list[str]:
        return sorted(set(ENTITY_TAGS.values()))

    def is_stopword(self, word: str, language: str) -> bool:
        return False

    def is_punct(self, word: str, language: str) -> bool:
        return not any(ch.isalnum() for ch in word)

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        pairs = [(p.word, p.flag) for p in self.tokenizer.cut(text)]
        words = [w for w, _ in pairs]
        doc = Doc(self.vocab, words=words, spaces=[False] * len(words))
        doc.ents = [
            Span(doc, i, i + 1, label=ENTITY_TAGS[flag])
            for i, (_, flag) in enumerate(pairs)
            if flag in ENTITY_TAGS
        ]
        return NlpArtifacts(
            entities=list(doc.ents),
            tokens=doc,
            tokens_indices=[token.idx for token in doc],
            lemmas=words,
            nlp_engine=self,
            language=language,
        )

    def process_batch(
        self,
        texts: Iterable[str],
        language: str,
        batch_size: int = 1,
        n_process: int = 1,
        **kwargs: object,
    ) -> Iterator[tuple[str, NlpArtifacts]]:
        for text in texts:
            yield text, self.process_text(text, language)
