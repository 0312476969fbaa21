"""Measure the mention scorer against human labels: ``python -m pipeline.sentiment.evaluate [CSV]``.

Reads the Twitter US-airline file (``../shared/data/twitter_airline/Tweets.csv``: text and a
human ``airline_sentiment``), runs it through
:func:`pipeline.sentiment.scoring.score_mentions` exactly as the pipeline would, and prints the
markdown block that ``docs/sentiment.md`` carries between its ``measured`` markers (a test
checks the committed block equals a fresh run).
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

from pipeline.sentiment.scorers import compound_score
from pipeline.sentiment.scoring import (
    NEGATIVE_THRESHOLD,
    POSITIVE_THRESHOLD,
    score_mentions,
    sentiment_label,
)

DEFAULT_CSV = Path(__file__).resolve().parents[3] / "shared/data/twitter_airline/Tweets.csv"
LABELS = ("negative", "neutral", "positive")
SWEEP = (0.05, 0.1, 0.25, 0.5)
BEGIN = "<!-- measured: begin (python -m pipeline.sentiment.evaluate) -->"
END = "<!-- measured: end -->"


def load_labelled(path: Path) -> pl.DataFrame:
    """The labelled tweets as mentions without sentiment: mention_id, text, language, label."""
    raw = pl.read_csv(path, infer_schema_length=0, columns=["text", "airline_sentiment"])
    return raw.select(
        pl.int_range(pl.len()).cast(pl.String).alias("mention_id"),
        "text",
        pl.lit(None, dtype=pl.String).alias("language"),
        pl.lit(None, dtype=pl.String).alias("sentiment"),
        pl.col("airline_sentiment").alias("label"),
    )


def _scores(predicted: pl.Series, truth: pl.Series) -> dict[str, float]:
    frame = pl.DataFrame({"p": predicted, "t": truth})
    out = {"accuracy": float((frame["p"] == frame["t"]).mean())}
    f1s = []
    for lab in LABELS:
        tp = frame.filter((pl.col("p") == lab) & (pl.col("t") == lab)).height
        predicted_n = frame.filter(pl.col("p") == lab).height
        actual_n = frame.filter(pl.col("t") == lab).height
        precision = tp / predicted_n if predicted_n else 0.0
        recall = tp / actual_n if actual_n else 0.0
        out[f"precision_{lab}"] = precision
        out[f"recall_{lab}"] = recall
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    out["macro_f1"] = sum(f1s) / len(f1s)
    return out


def evaluate(path: Path = DEFAULT_CSV) -> dict:
    """Coverage, accuracy, confusion matrix and a threshold sweep of the scorer on ``path``."""
    tweets = load_labelled(path)
    # As the pipeline sees them: no language delivered, so language detection decides.
    undeclared = score_mentions(tweets.drop("label")).join(
        tweets.select("mention_id", "label"), on="mention_id"
    )
    scored = undeclared.filter(pl.col("sentiment_source") == "scored")
    # VADER alone: every tweet scored by VADER. Not through score_mentions with the tweets
    # declared English: it leaves a text that contradicts its declared language unscored.
    compound = pl.col("text").map_elements(compound_score, return_dtype=pl.Float64)
    declared = tweets.with_columns(compound.alias("compound")).with_columns(
        sentiment_label(pl.col("compound")).alias("sentiment")
    )
    confusion = (
        declared.group_by("label", "sentiment")
        .len()
        .pivot(on="sentiment", index="label", values="len")
        .fill_null(0)
        .sort("label")
    )
    sweep = []
    for t in SWEEP:
        predicted = declared.select(sentiment_label(pl.col("compound"), t, -t)).to_series()
        sweep.append({"threshold": t, **_scores(predicted, declared["label"])})
    majority = tweets["label"].value_counts().sort("count", descending=True).row(0)
    return {
        "rows": tweets.height,
        "label_counts": dict(tweets["label"].value_counts().sort("label").iter_rows()),
        "majority_label": majority[0],
        "majority_accuracy": majority[1] / tweets.height,
        "scored_share": scored.height / tweets.height,
        "unscored": tweets.height - scored.height,
        "scored": _scores(scored["sentiment"], scored["label"]),
        "declared": _scores(declared["sentiment"], declared["label"]),
        "confusion": {
            row["label"]: {lab: int(row.get(lab, 0) or 0) for lab in LABELS}
            for row in confusion.iter_rows(named=True)
        },
        "sweep": sweep,
    }


def render_report(result: dict) -> str:
    """The measured block of docs/sentiment.md, markers included."""
    d, s = result["declared"], result["scored"]
    counts = ", ".join(f"{k} {v:,}" for k, v in result["label_counts"].items())
    lines = [
        BEGIN,
        "",
        f"Data: {result['rows']:,} tweets with human labels ({counts}). Always answering the "
        f"most common label ({result['majority_label']}) is right "
        f"{result['majority_accuracy']:.1%} of the time.",
        "",
        f"Thresholds: positive when compound >= {POSITIVE_THRESHOLD}, negative when "
        f"compound <= {NEGATIVE_THRESHOLD}, neutral between.",
        "",
        "**As the pipeline runs it** (no language delivered, so language detection decides): "
        f"{result['scored_share']:.1%} of the tweets are scored, {result['unscored']:,} are left "
        f"unscored; accuracy on the scored ones {s['accuracy']:.1%}, macro-F1 {s['macro_f1']:.3f}.",
        "",
        "**VADER alone** (every tweet scored by VADER, whatever its language): "
        f"accuracy {d['accuracy']:.1%}, "
        f"macro-F1 {d['macro_f1']:.3f}.",
        "",
        "| human \\ scored | negative | neutral | positive | recall |",
        "|---|---|---|---|---|",
    ]
    for lab in LABELS:
        row = result["confusion"].get(lab, {})
        cells = " | ".join(f"{row.get(p, 0):,}" for p in LABELS)
        lines.append(f"| {lab} | {cells} | {d[f'recall_{lab}']:.1%} |")
    precision = " | ".join(f"{d[f'precision_{lab}']:.1%}" for lab in LABELS)
    lines += [f"| precision | {precision} | |", ""]
    lines += [
        "Symmetric thresholds ±t (VADER alone):",
        "",
        "| t | accuracy | macro-F1 | recall negative | recall neutral | recall positive |",
        "|---|---|---|---|---|---|",
    ]
    for row in result["sweep"]:
        lines.append(
            f"| {row['threshold']} | {row['accuracy']:.1%} | {row['macro_f1']:.3f} | "
            f"{row['recall_negative']:.1%} | {row['recall_neutral']:.1%} | "
            f"{row['recall_positive']:.1%} |"
        )
    lines += ["", END]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the measured block for the CSV given (default: the shared Twitter file)."""
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else DEFAULT_CSV
    if not path.exists():
        print(f"{path}: not found (the Twitter US-airline file with human labels)", file=sys.stderr)
        return 1
    print(render_report(evaluate(path)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
