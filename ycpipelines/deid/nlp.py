"""An offline Chinese NLP engine for Presidio: jieba segmentation, once per text.

Nothing is downloaded: jieba ships its dictionary. Tokens carry lemmas (the words themselves),
so Presidio's context words work on Chinese text. Names and places are found by the PERSON and
LOCATION recognizers from these tokens; the engine itself reports no entities.
"""

import logging
import re
from collections.abc import Iterable, Iterator
from functools import cache, lru_cache

import jieba
import jieba.posseg
from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine
from spacy.tokens import Doc
from spacy.vocab import Vocab

jieba.setLogLevel(logging.WARNING)
WORDISH = re.compile(r"[^\W_]")  # a letter or digit, in any script
# Only runs of Chinese characters need the segmenter; digits and Latin letters form one token
# per run (an 18-digit ID costs jieba 18 lattice steps and an HMM pass otherwise).
RUNS_CACHED = 200_000
PIECES = re.compile(r"([\u4e00-\u9fff]+)|[0-9A-Za-z]+|\S")


@cache
def segmenter() -> jieba.posseg.POSTokenizer:
    """jieba's word segmenter with its dictionary's part-of-speech tags (loaded once)."""
    tokenizer = jieba.posseg.POSTokenizer(jieba.Tokenizer())
    tokenizer.tokenizer.initialize()
    tokenizer.load_word_tag(tokenizer.tokenizer.get_dict_file())
    return tokenizer


def dictionary_tag(word: str) -> str | None:
    """The part-of-speech tag jieba's dictionary gives a word (`nr` person, `ns` place), if any."""
    return segmenter().word_tag_tab.get(word)


def word_frequency(word: str) -> int:
    """How often jieba's dictionary counted the word (0 when it is not a dictionary word)."""
    return segmenter().tokenizer.FREQ.get(word) or 0


def in_dictionary(word: str) -> bool:
    return word_frequency(word) > 0


@lru_cache(maxsize=RUNS_CACHED)
def _segments(run: str) -> tuple[tuple[str, int], ...]:
    """jieba's words of one run of Chinese characters, with offsets; notes repeat most runs
    (因急性上呼吸道感染就诊, 建议复诊), so each distinct run is segmented once."""
    return tuple((word, start) for word, start, _ in segmenter().tokenizer.tokenize(run))


def words_of(text: str) -> tuple[list[str], list[int]]:
    """Words and their offsets: jieba's segments of Chinese runs, and the other runs whole."""
    words: list[str] = []
    starts: list[int] = []
    for piece in PIECES.finditer(text):
        if piece.group(1) is None:
            words.append(piece.group())
            starts.append(piece.start())
            continue
        for word, start in _segments(piece.group()):
            words.append(word)
            starts.append(piece.start() + start)
    return words, starts


class JiebaNlpEngine(NlpEngine):
    """Presidio NLP engine for `zh`: jieba's segmentation (with its HMM for unknown words) of
    the Chinese in a text; whitespace separates tokens and is no token itself."""

    def __init__(self) -> None:
        self.vocab = Vocab()

    def load(self) -> None:
        segmenter()

    def is_loaded(self) -> bool:
        return segmenter.cache_info().currsize > 0

    def get_supported_languages(self) -> list[str]:
        return ["zh"]

    def get_supported_entities(self) -> list[str]:
        return []

    def is_stopword(self, word: str, language: str) -> bool:
        return False

    def is_punct(self, word: str, language: str) -> bool:
        return WORDISH.search(word) is None

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        words, starts = words_of(text)
        doc = Doc(self.vocab, words=words, spaces=[False] * len(words))
        return NlpArtifacts(
            entities=[],
            tokens=doc,
            tokens_indices=starts,
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
