"""The Kaplan-Meier retention chart by health band (PNG bytes, for Dagster metadata)."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from dagster_project.ml.plots import figure, png_bytes

BAND_COLOURS = {"red": "tab:red", "yellow": "goldenrod", "green": "tab:green"}


def retention_png(curves: Mapping[str, pd.DataFrame]) -> bytes:
    """Step plot of survival (share of accounts not churned) against days, one line per band."""
    fig = figure()
    ax = fig.add_subplot()
    for band in ("green", "yellow", "red"):
        if band in curves:
            c = curves[band]
            ax.step(
                c["time"],
                c["survival"],
                where="post",
                color=BAND_COLOURS[band],
                label=f"{band} (n={int(c['at_risk'].iloc[0])})",
            )
    ax.set_xlabel("days since the monthly snapshot")
    ax.set_ylabel("share of accounts retained")
    ax.set_title("Kaplan-Meier retention by health band")
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower left")
    return png_bytes(fig)
