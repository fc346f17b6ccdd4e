"""Versioned model artifacts on disk: plain text and JSON, never pickle.

Layout under the artifacts root (AHW_ARTIFACTS_DIR):

    <root>/<version>/model.txt         LightGBM text model (only the trees up to the best iteration),
                                       for the lightgbm and blend kinds
    <root>/<version>/linear.json       the logistic regression and its preprocessing, for the
                                       logistic and blend kinds
    <root>/<version>/calibrator.json   calibration knots and Platt coefficients
    <root>/<version>/metadata.json     training window, metrics, features, fingerprint, params, ...
    <root>/<version>/categories.json   categorical feature -> levels, in code order
    <root>/champion.json               {"version": ..., "promoted_at": ...}: the model that scores

A version folder is written under a temporary name and renamed when complete, and champion.json
is replaced atomically, so a reader never sees a half-written model. Versions are immutable.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import lightgbm as lgb

from dagster_project.core import clock
from dagster_project.ml.linear import LinearModel
from dagster_project.ml.train import IsotonicCalibrator, TrainedModel, json_safe

CHAMPION_FILE = "champion.json"
MODEL_FILES = ("calibrator.json", "metadata.json", "categories.json")
BOOSTER_FILE = "model.txt"
LINEAR_FILE = "linear.json"


def _model_files(path: Path) -> list[str]:
    """The files a complete model folder holds: the common ones, and those its kind needs."""
    if not (path / "metadata.json").is_file():
        return [*MODEL_FILES, BOOSTER_FILE]
    kind = _read_json(path / "metadata.json").get("kind", "lightgbm")
    return [
        *MODEL_FILES,
        *([BOOSTER_FILE] if kind != "logistic" else []),
        *([LINEAR_FILE] if kind != "lightgbm" else []),
    ]


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(json_safe(data), indent=2, sort_keys=True, allow_nan=False) + "\n")


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def save_model(model: TrainedModel, root_dir: str | Path, promote: bool = False) -> Path:
    """Write the model to `<root_dir>/<version>/` and return that folder.

    With `promote=True` the model also becomes the champion. Raises FileExistsError if the version
    already exists (versions are immutable; a retrain gets a new timestamp in its version).
    """
    root = Path(root_dir)
    root.mkdir(parents=True, exist_ok=True)
    target = root / model.version
    if target.exists():
        raise FileExistsError(f"Model version {model.version} already exists at {target}; versions are immutable.")

    staging = Path(tempfile.mkdtemp(prefix=f".{model.version}.", dir=root))
    try:
        if model.booster is not None:
            model.booster.save_model(str(staging / BOOSTER_FILE))
        if model.linear is not None:
            _write_json(staging / LINEAR_FILE, model.linear.to_dict())
        _write_json(staging / "calibrator.json", model.calibrator.to_dict())
        _write_json(staging / "metadata.json", model.metadata)
        _write_json(staging / "categories.json", model.categories)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if promote:
        promote_model(root, model.version)
    return target


def promote_model(root_dir: str | Path, version: str) -> Path:
    """Point `<root_dir>/champion.json` at an existing saved `version`; returns the pointer path."""
    root = Path(root_dir)
    missing = [f for f in _model_files(root / version) if not (root / version / f).is_file()]
    if missing:
        raise FileNotFoundError(f"Cannot promote {version}: {root / version} lacks {', '.join(missing)}.")
    pointer = root / CHAMPION_FILE
    tmp = root / f".{CHAMPION_FILE}.tmp"
    _write_json(tmp, {"version": version, "promoted_at": clock.now_utc().isoformat(timespec="seconds")})
    os.replace(tmp, pointer)  # atomic: readers see the old or the new champion, never half a file
    return pointer


def champion_version(root_dir: str | Path) -> str | None:
    """The champion's version under `root_dir`, or None when nothing has been promoted yet."""
    pointer = Path(root_dir) / CHAMPION_FILE
    return _read_json(pointer)["version"] if pointer.is_file() else None


def load_model(path_or_root: str | Path) -> TrainedModel:
    """Load a model from its version folder, or the champion when given the artifacts root."""
    path = Path(path_or_root)
    if (path / CHAMPION_FILE).is_file() and not (path / "metadata.json").is_file():
        path = path / _read_json(path / CHAMPION_FILE)["version"]
    if not path.is_dir():
        raise FileNotFoundError(f"No model at {path}: train and save one first (or check AHW_ARTIFACTS_DIR).")
    missing = [f for f in _model_files(path) if not (path / f).is_file()]
    if missing:
        hint = (
            " It looks like an artifacts root without a champion.json: promote a model first."
            if not (path / "metadata.json").exists()
            else ""
        )
        raise FileNotFoundError(f"{path} is not a complete model folder: missing {', '.join(missing)}.{hint}")

    metadata = _read_json(path / "metadata.json")
    booster = lgb.Booster(model_file=str(path / BOOSTER_FILE)) if (path / BOOSTER_FILE).is_file() else None
    linear = LinearModel.from_dict(_read_json(path / LINEAR_FILE)) if (path / LINEAR_FILE).is_file() else None
    return TrainedModel(
        linear=linear,
        booster=booster,
        calibrator=IsotonicCalibrator.from_dict(_read_json(path / "calibrator.json")),
        features=list(metadata["features"]),
        categories={k: list(v) for k, v in _read_json(path / "categories.json").items()},
        metadata=metadata,
    )
