"""The randomized holdout of alerts: which alerts get their playbook and which get no outreach.

The unit of randomization is an account over one horizon block: the days are cut into blocks of
`horizon_days` from a fixed Monday (`BLOCK_ORIGIN`), and every alert an account raises inside one
block gets the same group, so an account stays in its group for a whole horizon. The group comes
from a salted SHA-256 hash of the account and the block: deterministic (re-deriving the alerts
gives the same groups, and a CS tool or the simulator can compute them too) and impossible to
steer without the salt. An account-block is in the holdout when its hash, read as a number in
[0, 1), is below the holdout share; a share of 0 puts nothing in the holdout.
"""

from __future__ import annotations

import hashlib
from datetime import date

import numpy as np
import pandas as pd

PLAYBOOK = "playbook"
HOLDOUT = "holdout"
HOLDOUT_PLAYBOOK = "holdout: no outreach"
BLOCK_ORIGIN = date(2000, 1, 3)  # a Monday


def horizon_block(dates, horizon_days: int) -> np.ndarray:
    """The horizon block (0 = the block starting at BLOCK_ORIGIN) of each date."""
    if horizon_days < 1:
        raise ValueError(f"The holdout needs a horizon of at least 1 day, got {horizon_days}.")
    days = (pd.to_datetime(pd.Series(dates)).dt.normalize() - pd.Timestamp(BLOCK_ORIGIN)).dt.days
    return (days.to_numpy() // horizon_days).astype(np.int64)


def block_start(block, horizon_days: int) -> pd.Series:
    """The first day of each horizon block."""
    return pd.Timestamp(BLOCK_ORIGIN) + pd.to_timedelta(np.asarray(block, dtype=np.int64) * horizon_days, unit="D")


def hash_unit(salt: str, account_id: str, block: int) -> float:
    """The account-block's hash as a number in [0, 1)."""
    digest = hashlib.sha256(f"{salt}|{account_id}|{int(block)}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def assign_groups(account_ids, dates, share: float, salt: str, horizon_days: int) -> np.ndarray:
    """`HOLDOUT` or `PLAYBOOK` for each (account, date): the group of the account's horizon block."""
    if not 0.0 <= share <= 0.5:
        raise ValueError(f"The holdout share must be between 0 and 0.5, got {share}.")
    accounts = pd.Series(account_ids, dtype="object").astype(str).to_numpy()
    if len(accounts) == 0:
        return np.array([], dtype=object)
    blocks = horizon_block(dates, horizon_days)
    cache: dict[tuple[str, int], str] = {}
    out = np.empty(len(accounts), dtype=object)
    for i, key in enumerate(zip(accounts, blocks.tolist())):
        group = cache.get(key)
        if group is None:
            group = HOLDOUT if share > 0 and hash_unit(salt, key[0], key[1]) < share else PLAYBOOK
            cache[key] = group
        out[i] = group
    return out
