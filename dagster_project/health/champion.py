"""Loading a promoted (champion) model with an error that says what to run when there is none."""

from __future__ import annotations

from pathlib import Path

from dagster_project.ml import artifacts
from dagster_project.ml.train import TrainedModel


def load_champion(root_dir: Path, what: str) -> TrainedModel:
    """The champion model under `root_dir` (e.g. <artifacts>/churn); FileNotFoundError if none was promoted."""
    if artifacts.champion_version(root_dir) is None:
        raise FileNotFoundError(
            f"No champion {what} model in {root_dir}: run the full_refresh or weekly_retrain job once to "
            "train one (make run does), or point AHW_ARTIFACTS_DIR at an existing model folder."
        )
    return artifacts.load_model(root_dir)
