"""The built-in company simulator: a seeded generator of all seven raw tables plus the ground truth.

    from dagster_project.simulate import SimulationConfig, generate
    rows = generate(SimulationConfig(n_accounts=500, months=18, seed=42), Path("data/landing"))

or `python -m dagster_project.simulate --accounts 500 --months 18 --seed 42 --out data/landing`.
"""

from dagster_project.simulate.config import SimulationConfig
from dagster_project.simulate.generator import GROUND_TRUTH_KEY, generate

__all__ = ["GROUND_TRUTH_KEY", "SimulationConfig", "generate"]
