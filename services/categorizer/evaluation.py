"""Categorizer predictions measured against hand labels (``shared/data/labels/README.md``)."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from schemas.discards import DiscardedPermit
from schemas.permits import Categorization, CategorizedPermit
from schemas.taxonomy import Category

# Discard values of the labels file and of ``leadstream categorize`` output, by precedence.
DISCARD_VALUES = ("none", "invalid", "production_builder", "junk", "stale")
CONFIDENCE_VALUES = ("high", "low")
# The evidence entry in which the categorizer records how sure it is: "confidence:low (...)".
CONFIDENCE_PREFIX = "confidence:"
# The labelled discard reasons whose precision and recall are reported.
MEASURED_DISCARDS = ("production_builder", "junk")
PREDICTION_COLUMNS = (
    "permit_number",
    "category",
    "tags",
    "is_commercial",
    "discard",
    "trade_group",
    "evidence",
)


class LabelsError(ValueError):
    pass


@dataclass(frozen=True)
class Verdict:
    """One permit's category, tags, commercial flag and discard — labelled or predicted."""

    permit_number: str
    category: Category
    tags: frozenset[Category]
    is_commercial: bool
    discard: str
    note: str = ""
    # A label's confidence (the labels file), or the categorizer's own (its evidence).
    confidence: str = "high"


def verdict_of(result: CategorizedPermit | DiscardedPermit) -> Verdict:
    categorization = _categorization(result)
    discard = result.reason_group if isinstance(result, DiscardedPermit) else "none"
    return Verdict(
        permit_number=result.permit.permit_number,
        category=categorization.category,
        tags=frozenset(categorization.tags),
        is_commercial=categorization.is_commercial,
        discard=discard,
        confidence=confidence_of(categorization.evidence),
    )


def confidence_of(evidence: Iterable[str]) -> str:
    """``high`` or ``low``, from the categorizer's ``confidence:`` evidence entry (``high``
    when there is none, e.g. output of an older rules version)."""
    for entry in evidence:
        if entry.startswith(CONFIDENCE_PREFIX):
            word = entry[len(CONFIDENCE_PREFIX) :].split(maxsplit=1)
            return word[0] if word and word[0] in CONFIDENCE_VALUES else "high"
    return "high"


def prediction_row(result: CategorizedPermit | DiscardedPermit) -> dict[str, str]:
    """A row of ``leadstream categorize --out``: the label columns plus trade group, evidence."""
    categorization = _categorization(result)
    verdict = verdict_of(result)
    return {
        "permit_number": verdict.permit_number,
        "category": verdict.category.value,
        "tags": ";".join(tag.value for tag in categorization.tags),
        "is_commercial": "1" if verdict.is_commercial else "0",
        "discard": verdict.discard,
        "trade_group": categorization.trade_group.value,
        "evidence": "; ".join(categorization.evidence),
    }


def _categorization(result: CategorizedPermit | DiscardedPermit) -> Categorization:
    categorization = result.categorization
    if categorization is None:  # the categorizer always attaches one; other stages may not
        raise ValueError(f"{result.key}: discarded without a categorization")
    return categorization


def read_labels(path: Path) -> dict[str, Verdict]:
    """The labels file by permit number; a bad value names its line."""
    labels: dict[str, Verdict] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"permit_number", "category", "tags", "is_commercial", "discard"} - set(
            reader.fieldnames or ()
        )
        if missing:
            raise LabelsError(f"{path}: missing columns {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, start=2):
            try:
                verdict = Verdict(
                    permit_number=row["permit_number"].strip(),
                    category=Category(row["category"].strip()),
                    tags=frozenset(
                        Category(t.strip()) for t in row["tags"].split(";") if t.strip()
                    ),
                    is_commercial=_flag(row["is_commercial"]),
                    discard=_discard(row["discard"]),
                    note=(row.get("note") or "").strip(),
                    confidence=_confidence(row.get("confidence")),
                )
            except ValueError as exc:
                raise LabelsError(f"{path}:{line}: {exc}") from exc
            labels[verdict.permit_number] = verdict
    return labels


def _flag(text: str) -> bool:
    if text.strip() not in ("0", "1"):
        raise ValueError(f"is_commercial must be 0 or 1, not {text!r}")
    return text.strip() == "1"


def _confidence(text: str | None) -> str:
    """A labels file without the column is all high confidence."""
    value = (text or "high").strip() or "high"
    if value not in CONFIDENCE_VALUES:
        raise ValueError(f"confidence must be high or low, not {text!r}")
    return value


def _discard(text: str) -> str:
    if text.strip() not in DISCARD_VALUES:
        raise ValueError(f"discard must be one of {', '.join(DISCARD_VALUES)}, not {text!r}")
    return text.strip()


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float
    # how many were labelled so, and how many predicted so (0 and 0: the score says nothing)
    labelled: int = 0
    predicted: int = 0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


@dataclass
class Evaluation:
    compared: int = 0
    unmatched_labels: list[str] = field(default_factory=list)
    category_accuracy: float = 0.0
    # the same on the labels marked high confidence only, and how many those are
    high_confidence_compared: int = 0
    high_confidence_accuracy: float = 0.0
    # share of the compared labels marked low confidence, and of the categorizer's decisions
    low_confidence_labels: float = 0.0
    low_confidence_decisions: float = 0.0
    # accuracy on the categorizer's own high- and low-confidence decisions (is it calibrated?)
    high_decision_accuracy: float = 0.0
    low_decision_accuracy: float = 0.0
    macro_f1: float = 0.0
    commercial_accuracy: float = 0.0
    tag_score: Score = Score(0.0, 0.0)
    discards: dict[str, Score] = field(default_factory=dict)
    # gold category → how often it was missed, and what it was taken for
    confusion: list[tuple[Category, int, int, Counter[Category]]] = field(default_factory=list)
    errors: list[tuple[Verdict, Verdict]] = field(default_factory=list)


def evaluate(labels: Mapping[str, Verdict], predictions: Mapping[str, Verdict]) -> Evaluation:
    """Compare the labelled permits; freshness is not labelled (it depends on the clock), so a
    permit predicted stale counts as not discarded."""
    pairs = [
        (gold, _unlabelled_stale(predictions[n])) for n, gold in labels.items() if n in predictions
    ]
    result = Evaluation(
        compared=len(pairs),
        unmatched_labels=sorted(n for n in labels if n not in predictions),
    )
    if not pairs:
        return result
    result.category_accuracy = _share(gold.category == pred.category for gold, pred in pairs)
    sure = [(gold, pred) for gold, pred in pairs if gold.confidence == "high"]
    result.high_confidence_compared = len(sure)
    result.high_confidence_accuracy = _share(g.category == p.category for g, p in sure)
    result.low_confidence_labels = _share(gold.confidence == "low" for gold, _ in pairs)
    result.low_confidence_decisions = _share(pred.confidence == "low" for _, pred in pairs)
    result.high_decision_accuracy = _share(
        g.category == p.category for g, p in pairs if p.confidence == "high"
    )
    result.low_decision_accuracy = _share(
        g.category == p.category for g, p in pairs if p.confidence == "low"
    )
    result.commercial_accuracy = _share(
        gold.is_commercial == pred.is_commercial for gold, pred in pairs
    )
    categories = {gold.category for gold, _ in pairs} | {pred.category for _, pred in pairs}
    result.macro_f1 = sum(
        _score(((g.category == c, p.category == c) for g, p in pairs)).f1 for c in categories
    ) / len(categories)
    result.tag_score = _tag_score(pairs)
    result.discards = {
        reason: _score((g.discard == reason, p.discard == reason) for g, p in pairs)
        for reason in MEASURED_DISCARDS
    }
    misses: dict[Category, Counter[Category]] = {}
    totals: Counter[Category] = Counter(gold.category for gold, _ in pairs)
    for gold, pred in pairs:
        if gold.category != pred.category:
            misses.setdefault(gold.category, Counter())[pred.category] += 1
        if (gold.category, gold.is_commercial, gold.discard) != (
            pred.category,
            pred.is_commercial,
            pred.discard,
        ):
            result.errors.append((gold, pred))
    result.confusion = sorted(
        ((c, sum(taken.values()), totals[c], taken) for c, taken in misses.items()),
        key=lambda row: (-row[1], row[0].value),
    )
    return result


def _unlabelled_stale(verdict: Verdict) -> Verdict:
    return replace(verdict, discard="none") if verdict.discard == "stale" else verdict


def _share(outcomes: Iterable[bool]) -> float:
    values = list(outcomes)
    return sum(values) / len(values) if values else 0.0


def _score(outcomes: Iterable[tuple[bool, bool]]) -> Score:
    """Precision and recall from (is gold, is predicted) pairs."""
    counts = Counter(outcomes)
    hits = counts[(True, True)]
    return _counted_score(hits, hits + counts[(False, True)], hits + counts[(True, False)])


def _tag_score(pairs: list[tuple[Verdict, Verdict]]) -> Score:
    hits = sum(len(g.tags & p.tags) for g, p in pairs)
    predicted = sum(len(p.tags) for _, p in pairs)
    actual = sum(len(g.tags) for g, _ in pairs)
    return _counted_score(hits, predicted, actual)


def _counted_score(hits: int, predicted: int, actual: int) -> Score:
    return Score(
        hits / predicted if predicted else 0.0,
        hits / actual if actual else 0.0,
        labelled=actual,
        predicted=predicted,
    )


def format_evaluation(result: Evaluation, *, worst: int = 8) -> str:
    lines = [
        f"labelled permits compared:   {result.compared}"
        + (
            f"  (not in the data: {len(result.unmatched_labels)})"
            if result.unmatched_labels
            else ""
        ),
        f"primary category accuracy:   {result.category_accuracy:.3f}",
        f"  on high-confidence labels: {result.high_confidence_accuracy:.3f}"
        f"  ({result.high_confidence_compared} labels)",
        f"low-confidence labels:       {result.low_confidence_labels:.3f}",
        f"low-confidence decisions:    {result.low_confidence_decisions:.3f}"
        f"  (accuracy on high / low decisions: {result.high_decision_accuracy:.3f} /"
        f" {result.low_decision_accuracy:.3f})",
        f"macro-F1 over categories:    {result.macro_f1:.3f}",
        f"is_commercial accuracy:      {result.commercial_accuracy:.3f}",
        f"tags precision / recall:     {result.tag_score.precision:.3f} / "
        f"{result.tag_score.recall:.3f}",
    ]
    for reason, score in result.discards.items():
        lines.append(
            f"discard {reason + ':':<20} precision {score.precision:.3f}  recall {score.recall:.3f}"
            f"  F1 {score.f1:.3f}"
        )
    if result.confusion:
        lines.append("worst categories (missed / labelled → taken for):")
        for category, missed, total, taken in result.confusion[:worst]:
            taken_for = ", ".join(f"{c.value} ×{n}" for c, n in taken.most_common())
            lines.append(f"  {category.value:<24} {missed:>3} / {total:<3} → {taken_for}")
    return "\n".join(lines)


# The columns of the table over several labelled sets: (heading, width, value of an
# evaluation, or None when the set cannot measure it).
_Column = tuple[str, int, Callable[["Evaluation"], float | None]]
_SUMMARY_COLUMNS: tuple[_Column, ...] = (
    ("accuracy", 8, lambda e: e.category_accuracy),
    ("acc high", 8, lambda e: e.high_confidence_accuracy),
    ("low lbl", 7, lambda e: e.low_confidence_labels),
    ("low dec", 7, lambda e: e.low_confidence_decisions),
    ("macro-F1", 8, lambda e: e.macro_f1),
    ("commerc", 7, lambda e: e.commercial_accuracy),
    ("bld P", 5, lambda e: _discard_value(e, "production_builder", "precision")),
    ("bld R", 5, lambda e: _discard_value(e, "production_builder", "recall")),
    ("bld F1", 6, lambda e: _discard_value(e, "production_builder", "f1")),
    ("junk F1", 7, lambda e: _discard_value(e, "junk", "f1")),
)


def _discard_value(result: Evaluation, reason: str, measure: str) -> float | None:
    """Precision needs a prediction of the reason, recall a label of it, F1 either: a set
    with neither (the Fort Worth sample holds no junk) shows "-" and is left out of the
    mean."""
    score = result.discards.get(reason)
    if score is None:
        return None
    if measure == "precision":
        return score.precision if score.predicted else None
    if measure == "recall":
        return score.recall if score.labelled else None
    return score.f1 if score.labelled or score.predicted else None


def _cell(value: float | None, width: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.3f}"


def format_summary(results: Sequence[tuple[str, Evaluation]]) -> str:
    """One row per labelled set and the unweighted mean over the sets (each set counts once,
    whatever its size; a set that cannot measure a column is left out of its mean)."""
    name_width = max(len("mean"), *(len(name) for name, _ in results))
    header = f"{'set':<{name_width}}  {'n':>4}  " + "  ".join(
        f"{title:>{width}}" for title, width, _ in _SUMMARY_COLUMNS
    )
    lines = [header]
    for name, result in results:
        lines.append(
            f"{name:<{name_width}}  {result.compared:>4}  "
            + "  ".join(_cell(value(result), width) for _, width, value in _SUMMARY_COLUMNS)
        )
    lines.append(
        f"{'mean':<{name_width}}  {'':>4}  "
        + "  ".join(_cell(mean_of(results, value), width) for _, width, value in _SUMMARY_COLUMNS)
    )
    return "\n".join(lines)


def mean_of(
    results: Sequence[tuple[str, Evaluation]], value: Callable[[Evaluation], float | None]
) -> float | None:
    """The unweighted mean over the sets that measure it; None when none does."""
    values = [v for v in (value(result) for _, result in results) if v is not None]
    return sum(values) / len(values) if values else None
