"""Suggest a request category from a resident's free text (Chinese or English).

A multinomial Naive Bayes over three kinds of evidence: jieba words, Chinese character 1-3-grams
(robust to typos, homophone slips and dialect, which split jieba words differently) and English
word tokens with their character 3-grams; English words also bring the features of their Chinese
glosses (`glossary.tsv`), and per-category domain words (`keywords.tsv`, plus `Category.keywords`
when given) add evidence. It trains from `bot/data/classify/labelled.tsv` in about 0.4 s, so the
model is built at first use instead of being shipped as a binary; staff corrections
(`CategoryCorrection`) are folded in with `retrain`, which `learning` calls weekly when they
do not lower the cross-validated accuracy.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import threading
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources

import jieba
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Category, CategoryCorrection

# jieba logs its dictionary loading to stderr at DEBUG level by default.
jieba.setLogLevel(logging.WARNING)

CATEGORIES: tuple[str, ...] = (
    "housing_repair",
    "plumbing",
    "road",
    "parking",
    "sanitation",
    "greening",
    "lighting",
    "facilities",
    "safety",
    "dispute",
    "noise",
    "property",
    "policy",
    "other",
)
FALLBACK = "other"
DATA_DIR = "data/classify"
LABELLED = "labelled.tsv"
GLOSSARY = "glossary.tsv"
KEYWORDS = "keywords.tsv"

# Smoothing and evidence weights, chosen by 5-fold cross-validation (bench/classify.py).
ALPHA = 0.4
WEIGHTS = {"w": 1.0, "c1": 1.0, "c2": 1.0, "c3": 0.5, "e": 1.0, "x": 0.3}
KEYWORD_WEIGHT = 5.0
# Softmax temperature per unit of evidence: Naive Bayes is overconfident, this spreads scores.
TEMPERATURE = 2.0

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
_LATIN_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_ENGLISH_STOP = frozenset(
    re.findall(
        r"\w+",
        "a an the is are was were be been am i my me we our us you your it its this that "
        "these those there here of in on at to for from by with and or but so if as do does did has"
        " have had will would can could should please pls any some very too just also all",
    )
)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A suggested category and its score (the scores of one answer sum to at most 1)."""

    category: str
    score: float


def _stem(word: str) -> str:
    # Enough English suffixes to join "leaks"/"leaking"/"leaked" and "lights"/"light".
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("ing") and len(word) > 5:
        return word[:-3]
    if word.endswith("ed") and len(word) > 4:
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def _read_data(name: str) -> list[tuple[str, str]]:
    """(key, value) pairs from a tab-separated file in bot/data/classify/; # starts a comment."""
    source = resources.files("bot").joinpath(DATA_DIR, name).read_text(encoding="utf-8")
    pairs: list[tuple[str, str]] = []
    for line in source.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, _, value = line.partition("\t")
        if value.strip():
            pairs.append((key.strip(), value.strip()))
    return pairs


@functools.cache
def _glossary() -> dict[str, tuple[str, ...]]:
    return {word.lower(): tuple(chinese.split()) for word, chinese in _read_data(GLOSSARY)}


def normalize(text: str) -> str:
    """Full-width forms folded to ASCII (NFKC), lower case, digits dropped (house numbers)."""
    text = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"[0-9]+", " ", text)


def _add_chinese(run: str, found: set[tuple[str, str]]) -> None:
    for n, kind in ((1, "c1"), (2, "c2"), (3, "c3")):
        for i in range(len(run) - n + 1):
            found.add((kind, run[i : i + n]))
    for word in jieba.lcut(run, HMM=False):
        if len(word) > 1:
            found.add(("w", word))


def features(text: str) -> list[tuple[str, str]]:
    """The (kind, feature) pairs of a text, each counted once.

    English words also bring the features of their Chinese glosses (glossary.tsv), so the
    mostly Chinese labelled set teaches the English side too.
    """
    text = normalize(text)
    found: set[tuple[str, str]] = set()
    for run in _CJK_RUN.findall(text):
        _add_chinese(run, found)
    glossary = _glossary()
    for word in _LATIN_WORD.findall(text):
        if word in _ENGLISH_STOP or len(word) < 2:
            continue
        stem = _stem(word)
        found.add(("e", stem))
        padded = f"#{stem}#"
        for i in range(len(padded) - 2):
            found.add(("x", padded[i : i + 3]))
        for chinese in glossary.get(word) or glossary.get(stem) or ():
            _add_chinese(chinese, found)
    return sorted(found)


class Model:
    """A trained classifier: per feature, one log-likelihood per category."""

    def __init__(
        self,
        categories: Sequence[str],
        priors: Sequence[float],
        table: dict[str, tuple[float, ...]],
    ) -> None:
        self.categories = tuple(categories)
        self._priors = list(priors)
        self._table = table
        self._fallback = self.categories.index(FALLBACK) if FALLBACK in self.categories else 0

    def scores(self, text: str) -> list[float]:
        """Probabilities per category, in the order of `categories`."""
        return self.scores_of(features(text))

    def best_of(self, found: Iterable[tuple[str, str]]) -> str:
        """The likeliest category of a text given as its `features`."""
        scores = self.scores_of(found)
        return self.categories[scores.index(max(scores))]

    def scores_of(self, found: Iterable[tuple[str, str]]) -> list[float]:
        """`scores` of a text given as its `features`."""
        totals = list(self._priors)
        weight = 0.0
        for kind, feature in found:
            row = self._table.get(kind + ":" + feature)
            if row is None:
                continue
            weight += WEIGHTS[kind]
            totals = [total + value for total, value in zip(totals, row, strict=True)]
        if weight == 0.0:
            # Nothing known in the text (empty, emoji, unseen words): lead with the fallback.
            totals = [0.0] * len(totals)
            totals[self._fallback] = 1.0
            scale = 1.0
        else:
            scale = 1.0 / (TEMPERATURE * math.sqrt(weight))
        top = max(totals)
        exps = [math.exp((total - top) * scale) for total in totals]
        norm = sum(exps)
        return [value / norm for value in exps]

    def suggest(self, text: str, *, top: int = 3) -> list[Candidate]:
        """The `top` likeliest categories, best first."""
        ranked = sorted(
            zip(self.categories, self.scores(text), strict=True), key=lambda item: -item[1]
        )
        # Rounded down, so the scores of an answer never sum above 1.
        return [
            Candidate(category, math.floor(score * 10_000) / 10_000)
            for category, score in ranked[: max(top, 0)]
        ]


def train(
    examples: Iterable[tuple[str, str]], *, keywords: Mapping[str, Iterable[str]] | None = None
) -> Model:
    """Train a model from (category, text) pairs; the built-in and given keywords add evidence."""
    return fit(
        [(category, features(text)) for category, text in examples if category], keywords=keywords
    )


def fit(
    pairs: Sequence[tuple[str, Sequence[tuple[str, str]]]],
    *,
    keywords: Mapping[str, Iterable[str]] | None = None,
) -> Model:
    """`train` on examples already turned into their `features` (cross-validation reuses them)."""
    extra: dict[str, list[str]] = load_keywords()
    for category, words in (keywords or {}).items():
        extra.setdefault(category, []).extend(words)
    categories = sorted({category for category, _ in pairs} | {FALLBACK})
    index = {category: i for i, category in enumerate(categories)}
    docs = [0] * len(categories)
    counts: defaultdict[tuple[str, str], defaultdict[int, float]] = defaultdict(
        lambda: defaultdict(float)
    )
    totals = [0.0] * len(categories)

    def add(i: int, found: Sequence[tuple[str, str]], multiplier: float) -> None:
        for pair in found:
            weight = WEIGHTS[pair[0]] * multiplier
            counts[pair][i] += weight
            totals[i] += weight

    for category, found in pairs:
        docs[index[category]] += 1
        add(index[category], found, 1.0)
    for category, words in extra.items():
        # Keywords only inform the categories the examples know (a tiny test set stays tiny).
        if category in index:
            for word in words:
                add(index[category], features(word), KEYWORD_WEIGHT)
    size = len(counts) or 1
    denominators = [math.log(total + ALPHA * size) for total in totals]
    # Most features occur in one or two categories: start from the row of an unseen feature
    # (one per kind) and fill in the few seen counts, instead of 14 logarithms per feature.
    unseen = {
        kind: [weight * (math.log(ALPHA) - denominator) for denominator in denominators]
        for kind, weight in WEIGHTS.items()
    }
    table: dict[str, tuple[float, ...]] = {}
    for (kind, feature), seen in counts.items():
        weight = WEIGHTS[kind]
        row = list(unseen[kind])
        for i, count in seen.items():
            row[i] = weight * (math.log(count + ALPHA) - denominators[i])
        table[kind + ":" + feature] = tuple(row)
    n = sum(docs)
    priors = [math.log((d + 1) / (n + len(categories))) for d in docs]
    return Model(categories, priors, table)


def load_examples() -> list[tuple[str, str]]:
    """The labelled (category, text) pairs shipped with the package."""
    return _read_data(LABELLED)


def load_keywords() -> dict[str, list[str]]:
    """The built-in domain keywords per category (keywords.tsv)."""
    keywords: dict[str, list[str]] = {}
    for category, words in _read_data(KEYWORDS):
        keywords.setdefault(category, []).extend(words.split())
    return keywords


_model: Model | None = None
_lock = threading.Lock()


def warm_up() -> None:
    """Load jieba's dictionary (quietly) and train the default model, once."""
    global _model
    if _model is not None:
        return
    with _lock:
        if _model is None:
            jieba.initialize()
            _model = train(load_examples())


def suggest(text: str, *, top: int = 3) -> list[Candidate]:
    """Suggest the `top` likeliest categories for a resident's text, best first."""
    if _model is None:
        warm_up()
    assert _model is not None
    return _model.suggest(text, top=top)


def retrain(
    extra: Iterable[tuple[str, str]], *, keywords: Mapping[str, Iterable[str]] | None = None
) -> None:
    """Replace the cached model by one trained on the labelled set plus `extra` examples."""
    global _model
    model = train([*load_examples(), *extra], keywords=keywords)
    with _lock:
        _model = model


async def corrections_as_examples(
    session: AsyncSession, *, upto: int | None = None
) -> list[tuple[str, str]]:
    """Staff corrections (with an id up to `upto`, when given) as (category, text) training
    pairs, oldest first."""
    query = select(CategoryCorrection.corrected, CategoryCorrection.text)
    if upto is not None:
        query = query.where(CategoryCorrection.id <= upto)
    rows = await session.execute(query.order_by(CategoryCorrection.id))
    return [(corrected, text) for corrected, text in rows.all() if text.strip()]


async def keywords_from_database(session: AsyncSession) -> dict[str, list[str]]:
    """Each category's keywords from the database, for `retrain(..., keywords=...)`."""
    rows = await session.execute(select(Category.slug, Category.keywords))
    return {slug: list(words or []) for slug, words in rows.all()}
