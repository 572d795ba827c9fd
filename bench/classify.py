"""Stratified 5-fold cross-validation of the category classifier on the labelled set.

Prints per-category and overall top-1 / top-3 accuracy, the training time, and as its last line
one JSON object: {"examples", "folds", "top1", "top3", "predict_us", "train_ms"}.
Usage: python bench/classify.py [--errors]   (--errors lists the misclassified sentences)
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.services.cases import classify

FOLDS = 5
SEED = 20240601


def stratified_folds(examples: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """Split examples into FOLDS parts with each category spread evenly; no text in two folds."""
    unique: dict[str, tuple[str, str]] = {}
    for category, text in examples:
        unique.setdefault(text.strip().lower(), (category, text))
    by_category: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for category, text in unique.values():
        by_category[category].append((category, text))
    rng = random.Random(SEED)
    folds: list[list[tuple[str, str]]] = [[] for _ in range(FOLDS)]
    offset = 0
    for category in sorted(by_category):
        items = by_category[category]
        rng.shuffle(items)
        for i, item in enumerate(items):
            folds[(i + offset) % FOLDS].append(item)
        offset += len(items)
    return folds


def main() -> None:
    show_errors = "--errors" in sys.argv
    classify.warm_up()
    examples = classify.load_examples()
    folds = stratified_folds(examples)
    hits1: dict[str, int] = defaultdict(int)
    hits3: dict[str, int] = defaultdict(int)
    seen: dict[str, int] = defaultdict(int)
    predict_s = 0.0
    train_s = 0.0
    predictions = 0
    errors: list[str] = []
    for k in range(FOLDS):
        training = [item for j, fold in enumerate(folds) if j != k for item in fold]
        start = time.perf_counter()
        model = classify.train(training)
        train_s += time.perf_counter() - start
        for category, text in folds[k]:
            start = time.perf_counter()
            candidates = model.suggest(text, top=3)
            predict_s += time.perf_counter() - start
            predictions += 1
            ranked = [candidate.category for candidate in candidates]
            seen[category] += 1
            hits1[category] += ranked[0] == category
            hits3[category] += category in ranked
            if show_errors and ranked[0] != category:
                errors.append(f"{category:>15} -> {','.join(ranked)}  {text}")
    total = sum(seen.values())
    top1 = sum(hits1.values()) / total
    top3 = sum(hits3.values()) / total
    print(f"{'category':<16}{'n':>5}{'top1':>8}{'top3':>8}")
    for category in sorted(seen):
        n = seen[category]
        print(f"{category:<16}{n:>5}{hits1[category] / n:>8.3f}{hits3[category] / n:>8.3f}")
    print(f"{'overall':<16}{total:>5}{top1:>8.3f}{top3:>8.3f}")
    print(
        f"train: {train_s / FOLDS * 1000:.1f} ms per fold ({len(folds[0]) * (FOLDS - 1)} examples)"
    )
    for line in errors:
        print(line)
    print(
        json.dumps(
            {
                "examples": total,
                "folds": FOLDS,
                "top1": round(top1, 4),
                "top3": round(top3, 4),
                "predict_us": round(predict_s / predictions * 1e6, 1),
                "train_ms": round(train_s / FOLDS * 1000, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
