"""Small PNG charts of model quality for Dagster metadata and reports.

Each `*png_bytes` function returns PNG bytes; `markdown_image` turns them into
`![alt](data:image/png;base64,...)`, which Dagster renders inside `MetadataValue.md`. Charts are
small (5 x 3.5 in at 80 dpi, ~15-40 kB) because metadata is stored with every materialization.

matplotlib's non-interactive Agg backend is used through an explicit `Figure` (never pyplot), so
nothing depends on a display or on global pyplot state, and figures are freed when the function
returns (no "too many open figures" in a long-running Dagster process).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.metrics import roc_auc_score, roc_curve

from dagster_project.ml.evaluate import ECE_BINS, reliability_curve, top_k_order

FIGSIZE = (5.0, 3.5)
DPI = 80
# The model stands out; baselines are muted; the oracle is the dashed ceiling.
_STYLE = {"oracle": {"color": "black", "linestyle": "--"}}
_MUTED = ["tab:gray", "tab:orange", "tab:green", "tab:purple", "tab:brown"]


def figure() -> Figure:
    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def markdown_image(png: bytes, alt: str = "chart") -> str:
    """`![alt](data:image/png;base64,...)`: a PNG inline in markdown (e.g. `MetadataValue.md`)."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"


def _pairs(y_true, scores: Mapping[str, np.ndarray]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per name, (y, score) without the rows where the score is NaN (e.g. no oracle value)."""
    y = np.asarray(y_true, dtype="float64").ravel()
    out = {}
    for name, s in scores.items():
        s = np.asarray(s, dtype="float64").ravel()
        if s.shape != y.shape:
            raise ValueError(f"Scores {name!r} have {s.size} values but y_true has {y.size}.")
        keep = ~np.isnan(s)
        out[name] = (y[keep].astype("int64"), s[keep])
    return out


def _style(name: str, i: int, model_name: str | None) -> dict:
    if name in _STYLE:
        return dict(_STYLE[name])
    if name == model_name or (model_name is None and i == 0):
        return {"color": "tab:blue", "linewidth": 2.0}
    return {"color": _MUTED[i % len(_MUTED)], "linewidth": 1.0}


def roc_png(y_true, scores: Mapping[str, np.ndarray], model_name: str | None = None, title: str = "ROC") -> bytes:
    """ROC curves of several scorings of the same rows (model, baselines, oracle), AUC in the legend.

    `scores` maps name -> probabilities aligned with `y_true`; `model_name` (default: the first)
    is drawn bold. Names with a single class left after dropping NaN scores are skipped.
    """
    fig = figure()
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="lightgray", linewidth=0.8)
    for i, (name, (y, s)) in enumerate(_pairs(y_true, scores).items()):
        if y.size == 0 or y.min() == y.max():
            continue
        fpr, tpr, _ = roc_curve(y, s)
        ax.plot(fpr, tpr, label=f"{name} ({roc_auc_score(y, s):.3f})", **_style(name, i, model_name))
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title=title, xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="lower right", fontsize=7, title="AUC", title_fontsize=7)
    return png_bytes(fig)


def reliability_png(
    y_true,
    scores: Mapping[str, np.ndarray],
    n_bins: int = ECE_BINS,
    min_bin_rows: int = 20,
    title: str = "Reliability",
) -> bytes:
    """Observed churn rate vs mean predicted probability per equal-width bin (the ECE bins), one
    line per scoring; the diagonal is perfect calibration. Bins with fewer than `min_bin_rows` rows
    are not drawn: with a few thousand rows and a low churn rate the top bins hold a handful of
    accounts, and their 0 % / 100 % rates would dominate the picture while weighing almost nothing
    in the ECE. Axes zoom to the drawn range, since churn probabilities rarely exceed a few tens of
    percent."""
    fig = figure()
    ax = fig.add_subplot()
    top = 0.0
    for i, (name, (y, s)) in enumerate(_pairs(y_true, scores).items()):
        if y.size == 0:
            continue
        table = reliability_curve(y, s, n_bins)
        table = table[table["n"] >= min_bin_rows]
        if table.empty:
            continue
        top = max(top, float(table["mean_predicted"].max()), float(table["observed_rate"].max()))
        ax.plot(
            table["mean_predicted"],
            table["observed_rate"],
            marker="o",
            markersize=3,
            label=name,
            **_style(name, i, None),
        )
    top = min(1.0, max(0.05, top * 1.1))
    ax.plot([0, top], [0, top], color="lightgray", linewidth=0.8)
    ax.set(
        xlabel="mean predicted probability",
        ylabel="observed rate",
        xlim=(0, top),
        ylim=(0, top),
        title=f"{title} (bins of >= {min_bin_rows} rows)",
    )
    ax.legend(loc="upper left", fontsize=7)
    return png_bytes(fig)


def lift_by_decile(y_true, y_score) -> np.ndarray:
    """Lift (decile churn rate / overall rate) of each score decile, decile 1 = highest scores.

    Deciles are by rank (ties in input order, like `evaluate`), so each holds a tenth of the rows.
    """
    y = np.asarray(y_true, dtype="float64").ravel()
    order = top_k_order(np.asarray(y_score, dtype="float64").ravel())
    base = y.mean()
    if base == 0:
        return np.full(10, np.nan)
    return np.array([y[part].mean() / base if part.size else np.nan for part in np.array_split(order, 10)])


def lift_png(
    y_true, scores: Mapping[str, np.ndarray], model_name: str | None = None, title: str = "Lift by decile"
) -> bytes:
    """Bars: the model's lift per decile; lines: the other scorings' lift, for comparison."""
    fig = figure()
    ax = fig.add_subplot()
    deciles = np.arange(1, 11)
    pairs = _pairs(y_true, scores)
    model = model_name or next(iter(pairs))
    for i, (name, (y, s)) in enumerate(pairs.items()):
        lift = lift_by_decile(y, s)
        if name == model:
            ax.bar(deciles, lift, color="tab:blue", alpha=0.8, label=name)
        else:
            ax.plot(deciles, lift, marker="o", markersize=3, label=name, **_style(name, i, model))
    ax.axhline(1.0, color="lightgray", linewidth=0.8)
    ax.set(xlabel="decile (1 = highest risk)", ylabel="lift", title=title, xticks=deciles)
    ax.legend(fontsize=7)
    return png_bytes(fig)


def feature_importance_png(
    importance: Mapping[str, float], top_n: int = 20, title: str = "Feature importance (gain)"
) -> bytes:
    """Horizontal bars of the `top_n` largest importances (e.g. LightGBM gain), largest on top."""
    if not importance:
        raise ValueError("No feature importance to plot.")
    top = sorted(importance.items(), key=lambda kv: kv[1], reverse=True)[:top_n]
    names, values = zip(*top, strict=True)
    total = float(sum(importance.values())) or 1.0
    fig = Figure(figsize=(FIGSIZE[0], max(FIGSIZE[1], 0.18 * len(top) + 0.8)), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.barh(range(len(top))[::-1], [v / total for v in values], color="tab:blue")
    ax.set_yticks(range(len(top))[::-1], names, fontsize=7)
    ax.set(xlabel="share of total gain", title=title)
    return png_bytes(fig)
