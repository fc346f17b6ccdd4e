"""Every asset key and its group, snapshotted: a rename or a move between groups fails here loudly.
After a deliberate change, regenerate the snapshot with `AHW_UPDATE_SNAPSHOTS=1 pytest tests/unit/defs`."""

from __future__ import annotations

import os
from pathlib import Path

SNAPSHOT = Path(__file__).with_name("asset_keys.txt")


def _keys_and_groups() -> list[str]:
    from dagster_project.definitions import defs

    graph = defs().resolve_asset_graph()
    return sorted(f"{key.to_user_string()}  [{graph.get(key).group_name}]" for key in graph.get_all_asset_keys())


def test_asset_keys_and_groups_match_the_snapshot():
    current = _keys_and_groups()
    if os.environ.get("AHW_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text("\n".join(current) + "\n")
    expected = SNAPSHOT.read_text().splitlines()
    added, removed = sorted(set(current) - set(expected)), sorted(set(expected) - set(current))
    assert not added and not removed, (
        f"asset keys or groups changed.\nnew: {added}\ngone: {removed}\n"
        "If this is deliberate, regenerate the snapshot (see the module docstring) and say so in the commit."
    )
