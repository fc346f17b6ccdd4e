"""BG/NBD: the likelihood, parameter recovery on customers simulated from the model's own story, and
the forecasts (P(alive), expected transactions, P(no transaction)) against Monte Carlo."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from scipy.integrate import dblquad, quad
from scipy.special import betaln, gammaln

from dagster_project.ml import bgnbd
from dagster_project.ml.baselines import BGNBDBaseline
from dagster_project.ml.bgnbd import BGNBDParams
from dagster_project.ml.evaluate import binary_metrics

# Close to the paper's CDNOW estimates (weeks): r = 0.243, alpha = 4.414, a = 0.793, b = 2.426.
TRUE = BGNBDParams(r=0.25, alpha=4.0, a=0.8, b=2.5)


@dataclass(frozen=True)
class Customers:
    """Simulated customers: what the model sees (x, t_x, T) and the latent truth (lam, p, alive)."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    lam: np.ndarray
    p: np.ndarray
    alive: np.ndarray


def simulate(params: BGNBDParams, T: np.ndarray, seed: int) -> Customers:
    """The BG/NBD process: a first purchase at 0, then Poisson(lam) purchases while alive; after each
    repeat purchase the customer drops out with probability p. Observed until T (per customer)."""
    rng = np.random.default_rng(seed)
    n = len(T)
    lam = rng.gamma(params.r, 1 / params.alpha, n)
    p = rng.beta(params.a, params.b, n)
    x, t_x, now = np.zeros(n), np.zeros(n), np.zeros(n)
    alive, watching = np.ones(n, dtype=bool), np.ones(n, dtype=bool)
    while watching.any():
        i = np.flatnonzero(watching)
        now[i] += rng.exponential(1 / lam[i])
        bought = now[i] <= T[i]
        j = i[bought]
        x[j] += 1
        t_x[j] = now[j]
        dies = rng.random(len(j)) < p[j]
        alive[j[dies]] = False
        watching[i[~bought]] = False
        watching[j[dies]] = False
    return Customers(x=x, t_x=t_x, T=T.astype("float64"), lam=lam, p=p, alive=alive)


def cohort(n: int, seed: int) -> Customers:
    """n customers whose first purchase falls anywhere in a 39-week window before a 78-week mark,
    so T (weeks observed) runs from 39 to 78."""
    T = np.random.default_rng(seed + 1).uniform(39, 78, n)
    return simulate(TRUE, T, seed)


def next_period(c: Customers, t: float, seed: int) -> np.ndarray:
    """Transactions each customer makes in (T, T + t]: the same process continued (Poisson purchases
    while alive, dropout after each with probability p)."""
    rng = np.random.default_rng(seed)
    count, now = np.zeros(len(c.x)), np.zeros(len(c.x))
    watching = c.alive.copy()
    while watching.any():
        i = np.flatnonzero(watching)
        now[i] += rng.exponential(1 / c.lam[i])
        bought = now[i] <= t
        j = i[bought]
        count[j] += 1
        watching[i[~bought]] = False
        watching[j[rng.random(len(j)) < c.p[j]]] = False
    return count


@pytest.fixture(scope="module")
def customers() -> Customers:
    return cohort(10_000, seed=7)


@pytest.fixture(scope="module")
def fitted(customers: Customers) -> BGNBDParams:
    return bgnbd.fit(customers.x, customers.t_x, customers.T)


# --- the likelihood -------------------------------------------------------------------------------


def test_log_likelihood_is_the_individual_likelihood_integrated_over_lambda_and_p():
    """Equation 6 against a numerical integral of the individual-level likelihood
    (1-p)^x lam^x e^(-lam T) + 1{x>0} p (1-p)^(x-1) lam^x e^(-lam t_x) over the two mixing laws
    (shape parameters above 1 here, so the integrand has no singularity for quad)."""
    params = BGNBDParams(r=1.6, alpha=3.0, a=1.4, b=2.2)
    log_norm = params.r * np.log(params.alpha) - gammaln(params.r) - betaln(params.a, params.b)
    for x, t_x, T in [(0, 0.0, 5.0), (2, 1.5, 4.0), (5, 6.0, 6.0)]:

        def integrand(p, lam, x=x, t_x=t_x, T=T):
            alive = (1 - p) ** x * lam**x * np.exp(-lam * T)
            dropped = p * (1 - p) ** (x - 1) * lam**x * np.exp(-lam * t_x) if x > 0 else 0.0
            prior = np.exp(log_norm + (params.r - 1) * np.log(lam) - params.alpha * lam)
            return prior * p ** (params.a - 1) * (1 - p) ** (params.b - 1) * (alive + dropped)

        # lambda > 15 carries less than e^-40 of the Gamma(1.6, 3) mass
        integral, _ = dblquad(integrand, 0, 15, 0, 1, epsabs=1e-10, epsrel=1e-6)
        assert bgnbd.log_likelihood(params, x, t_x, T) == pytest.approx(np.log(integral), abs=1e-5)


# --- fitting --------------------------------------------------------------------------------------

# Spread of the estimates over 200 simulated cohorts of 10,000 customers like `customers` (T from
# 39 to 78 weeks): mean (0.251, 4.00, 0.802, 2.51), no visible bias; sd 0.0054, 0.15, 0.060, 0.24;
# largest deviation 0.014, 0.38, 0.24, 1.0 (a and b are skewed: their tails are longer than
# normal). Tolerances are 5 sd: r and alpha are pinned to about 10 % and 20 %; a and b, which
# only the customers' dropouts inform, to about 40 %. A likelihood that lets customers drop out
# after their first purchase too fits r = 0.49 on the same cohort.
TOLERANCE = {"r": 0.027, "alpha": 0.75, "a": 0.30, "b": 1.2}


def test_fit_recovers_the_parameters_of_simulated_customers(fitted: BGNBDParams):
    for name, tolerance in TOLERANCE.items():
        assert getattr(fitted, name) == pytest.approx(getattr(TRUE, name), abs=tolerance), name


def test_fit_is_the_maximum_and_does_not_depend_on_the_time_unit(customers: Customers, fitted: BGNBDParams):
    c = customers
    assert bgnbd.log_likelihood(fitted, c.x, c.t_x, c.T).sum() > bgnbd.log_likelihood(TRUE, c.x, c.t_x, c.T).sum()

    # A stationary point: the mean log-likelihood is flat in every log-parameter (central differences).
    def mean_ll(log_params: np.ndarray) -> float:
        return float(bgnbd.log_likelihood(BGNBDParams(*np.exp(log_params)), c.x, c.t_x, c.T).mean())

    at = np.log([fitted.r, fitted.alpha, fitted.a, fitted.b])
    step = 1e-5 * np.eye(4)
    slopes = [(mean_ll(at + h) - mean_ll(at - h)) / 2e-5 for h in step]
    np.testing.assert_allclose(slopes, 0, atol=1e-4)
    # The same customers in days: alpha x 7, the rest unchanged.
    in_days = bgnbd.fit(c.x, 7 * c.t_x, 7 * c.T)
    assert in_days.alpha == pytest.approx(7 * fitted.alpha, rel=1e-3)
    for name in ("r", "a", "b"):
        assert getattr(in_days, name) == pytest.approx(getattr(fitted, name), rel=1e-3), name


@pytest.mark.parametrize(
    ("x", "t_x", "T", "message"),
    [
        ([1, 2], [1.0, 5.0], [3.0, 4.0], "t_x greater than T"),
        ([1, -1], [1.0, 0.0], [3.0, 4.0], "negative or not a whole number"),
        ([1, 1.5], [1.0, 1.0], [3.0, 4.0], "negative or not a whole number"),
        ([1, 0], [1.0, 2.0], [3.0, 4.0], "t_x > 0 with x = 0"),
        ([1, 2], [-1.0, 1.0], [3.0, 4.0], "t_x (time of the last transaction) negative"),
        ([1, np.nan], [1.0, 1.0], [3.0, 4.0], "missing or infinite"),
        ([1, 2, 3], [1.0, 1.0], [3.0, 4.0], "one shape"),
    ],
)
def test_inconsistent_customers_are_refused_with_the_reason(x, t_x, T, message):
    with pytest.raises(ValueError, match=f"BG/NBD inputs.*{re.escape(message)}"):
        bgnbd.fit(x, t_x, T)
    with pytest.raises(ValueError, match="BG/NBD inputs"):
        bgnbd.p_no_transaction(TRUE, 10.0, x, t_x, T)


def test_fit_refuses_customers_without_repeat_transactions_and_bad_parameters():
    with pytest.raises(ValueError, match="none of the 3 customers made a repeat transaction"):
        bgnbd.fit([0, 0, 0], [0.0, 0.0, 0.0], [1.0, 5.0, 9.0])
    with pytest.raises(ValueError, match="zero customers"):
        bgnbd.fit([], [], [])
    with pytest.raises(ValueError, match="finite and > 0"):
        BGNBDParams(r=0.0, alpha=1.0, a=1.0, b=1.0)
    with pytest.raises(ValueError, match="horizon"):
        bgnbd.p_no_transaction(TRUE, -1.0, 1, 1.0, 2.0)


# --- forecasts ------------------------------------------------------------------------------------


def test_edge_cases_x_zero_and_last_purchase_today():
    r, alpha, a, b = TRUE.r, TRUE.alpha, TRUE.a, TRUE.b
    # No repeat purchase: BG/NBD customers only drop out right after a repeat purchase.
    assert bgnbd.p_alive(TRUE, 0, 0.0, 30.0) == 1.0
    assert bgnbd.p_no_transaction(TRUE, 13.0, 0, 0.0, 30.0) == pytest.approx(((alpha + 30) / (alpha + 43)) ** r)
    # A first purchase today (T = 0) is a valid customer too.
    assert bgnbd.p_no_transaction(TRUE, 13.0, 0, 0.0, 0.0) == pytest.approx((alpha / (alpha + 13)) ** r)
    # Last purchase today (t_x = T): alive unless the dropout came right after it.
    assert bgnbd.p_alive(TRUE, 3, 30.0, 30.0) == pytest.approx(1 / (1 + a / (b + 2)))
    # An empty horizon: nothing can happen.
    assert bgnbd.p_no_transaction(TRUE, 0.0, 3, 10.0, 30.0) == 1.0
    assert bgnbd.expected_transactions(TRUE, 0.0, 3, 10.0, 30.0) == pytest.approx(0.0, abs=1e-12)
    # The longer the silence since the last purchase, the likelier the customer is gone.
    silence = bgnbd.p_alive(TRUE, 4, np.array([30.0, 20.0, 10.0, 1.0]), 30.0)
    assert np.all(np.diff(silence) < 0)


def test_busy_histories_neither_overflow_nor_round_to_certainty():
    x = np.array([200, 500, 2000])
    p_no = bgnbd.p_no_transaction(TRUE, 13.0, x, np.array([99.0, 99.5, 99.9]), 100.0)
    assert np.all(np.isfinite(p_no)) and np.all((p_no > 0) & (p_no < 1))
    assert np.all(np.isfinite(bgnbd.log_likelihood(TRUE, x, 99.0, 100.0)))
    assert np.all(np.isfinite(bgnbd.expected_transactions(TRUE, 13.0, x, 99.0, 100.0)))


@pytest.mark.parametrize("a", [0.6, 2.5])
def test_expected_transactions_is_the_posterior_mean_for_every_a(a: float):
    """Equation 10 against E_p[(1 - ((alpha+T)/(alpha+T+p t))^(r+x)) / p] with p ~ Beta(a, b+x), times
    P(alive), integrated numerically (quad's algebraic weight takes the beta density's ends)."""
    params = BGNBDParams(r=0.7, alpha=5.0, a=a, b=1.8)
    t = 20.0
    for x, t_x, T in [(0, 0.0, 12.0), (3, 8.0, 30.0), (12, 29.0, 30.0)]:
        big_a = params.alpha + T
        n = params.r + x

        def mean_given_p(p, big_a=big_a, n=n):
            # E[transactions | alive, p] = E_lambda[(1 - exp(-lambda p t)) / p]; n t / big_a at p = 0
            return -np.expm1(n * np.log(big_a / (big_a + p * t))) / p if p > 0 else n * t / big_a

        integral, _ = quad(mean_given_p, 0, 1, weight="alg", wvar=(a - 1, params.b + x - 1), epsrel=1e-10)
        alive_mean = integral / np.exp(betaln(a, params.b + x))
        expected = alive_mean * bgnbd.p_alive(params, x, t_x, T)
        assert bgnbd.expected_transactions(params, t, x, t_x, T) == pytest.approx(expected, rel=1e-5)


def test_expected_transactions_where_the_closed_form_breaks_down():
    # a = 1 exactly (0/0 in equation 10): the value joins its neighbours.
    around = [BGNBDParams(r=0.7, alpha=5.0, a=a, b=1.8) for a in (1 - 1e-4, 1.0, 1 + 1e-4)]
    below, at_one, above = (bgnbd.expected_transactions(p, 20.0, 3, 8.0, 30.0) for p in around)
    assert at_one == pytest.approx((below + above) / 2, rel=1e-6)
    # 700 transactions in 30 days, the last today: 2F1 overflows; the integral stays between what
    # the customer would make if it never dropped out (the Poisson mean) and half of it (each
    # transaction ends it with probability ~ 0.8 / 1200).
    params = BGNBDParams(r=0.5, alpha=5.0, a=0.8, b=500.0)
    poisson_mean = (params.r + 700) / (params.alpha + 30) * 90
    expected = bgnbd.expected_transactions(params, 90.0, [700, 2], [30.0, 30.0], [30.0, 30.0])
    assert 0.5 * poisson_mean < expected[0] < poisson_mean
    assert 0 < expected[1] < (params.r + 2) / (params.alpha + 30) * 90


def test_forecasts_match_the_simulated_next_period(customers: Customers, fitted: BGNBDParams):
    """Calibration in aggregate and by fifths of the forecast: P(alive) against who is alive, P(no
    transaction in 13 weeks) against who bought nothing when the simulation goes on, and the
    expected count against the counts. Each within 4 standard errors of its Monte Carlo mean."""
    c, t = customers, 13.0
    counts = next_period(c, t, seed=11)
    for params in (TRUE, fitted):
        checks = [
            (bgnbd.p_alive(params, c.x, c.t_x, c.T), c.alive.astype(float)),
            (bgnbd.p_no_transaction(params, t, c.x, c.t_x, c.T), (counts == 0).astype(float)),
            (bgnbd.expected_transactions(params, t, c.x, c.t_x, c.T), counts),
        ]
        for forecast, outcome in checks:
            groups = [np.arange(len(c.x))] if params is fitted else np.array_split(np.argsort(forecast), 5)
            for g in groups:
                standard_error = outcome[g].std() / np.sqrt(len(g))
                assert abs(forecast[g].mean() - outcome[g].mean()) < 4 * standard_error + 1e-3
    # It ranks too, better than the recency it is built on (on this seed: AUC 0.81 against 0.79 for
    # weeks since the last purchase; the latent truth reaches 0.95).
    silent = (counts == 0).astype(int)
    auc = binary_metrics(silent, bgnbd.p_no_transaction(fitted, t, c.x, c.t_x, c.T))["auc"]
    weeks_silent = c.T - c.t_x
    assert auc > binary_metrics(silent, weeks_silent / weeks_silent.max())["auc"]
    assert auc > 0.8


# --- the churn baseline ---------------------------------------------------------------------------

LABEL = "churned_within_90d"


def purchase_snapshots(n_accounts: int = 400, seed: int = 3) -> pd.DataFrame:
    """Weekly snapshot rows (days) of accounts buying as BG/NBD says (TRUE with alpha in days),
    with the label "no purchase in the next 90 days". Accounts start over the first 600 days, so
    snapshots hold accounts without any purchase yet (their three columns are NULL)."""
    rng = np.random.default_rng(seed)
    start = rng.uniform(0, 600, n_accounts)
    days = BGNBDParams(r=TRUE.r, alpha=7 * TRUE.alpha, a=TRUE.a, b=TRUE.b)
    sim = simulate(days, np.full(n_accounts, 10_000.0), seed)  # only for lambda and p
    # Purchase days (NaN-padded, one row per account): the first at `start`, then the process.
    purchases = np.full((n_accounts, 400), np.nan)
    purchases[:, 0] = start
    now, alive = start.copy(), np.ones(n_accounts, dtype=bool)
    for k in range(1, purchases.shape[1]):
        now = now + rng.exponential(1 / sim.lam)
        alive &= now <= 1_000
        purchases[alive, k] = now[alive]
        alive &= rng.random(n_accounts) >= sim.p
    purchases = np.floor(purchases)
    frames = []
    for as_of in np.arange(210.0, 700.0, 7.0):
        seen = purchases <= as_of  # NaN compares False
        has = seen.any(axis=1)
        last = np.where(seen, purchases, -np.inf).max(axis=1)
        frames.append(
            pd.DataFrame(
                {
                    "account_id": [f"a{i}" for i in range(n_accounts)],
                    "as_of_date": pd.Timestamp("2024-01-01") + pd.Timedelta(days=as_of),
                    "repeat_purchases": np.where(has, seen.sum(axis=1) - 1, np.nan),
                    "days_first_to_last": np.where(has, last - purchases[:, 0], np.nan),
                    "days_since_first": np.where(has, as_of - purchases[:, 0], np.nan),
                    LABEL: (~((purchases > as_of) & (purchases <= as_of + 90)).any(axis=1)).astype(int),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def snapshots() -> pd.DataFrame:
    return purchase_snapshots()


def baseline(**kwargs) -> BGNBDBaseline:
    columns = {"frequency_column": "repeat_purchases", "recency_column": "days_first_to_last"}
    return BGNBDBaseline(**{**columns, "age_column": "days_since_first", "horizon_days": 90, **kwargs})


def test_baseline_fits_one_row_per_account_and_scores_no_purchase_in_the_horizon(snapshots: pd.DataFrame):
    train = snapshots[snapshots["as_of_date"] < pd.Timestamp("2024-01-01") + pd.Timedelta(days=500)]
    test = snapshots[snapshots["as_of_date"] == snapshots["as_of_date"].max()]
    score = baseline().fit(train, LABEL)

    # The fit saw each account once, at its newest training week, whatever the number of weeks.
    newest = train.dropna(subset=["days_since_first"]).groupby("account_id").tail(1)
    assert score.params["accounts_fitted"] == newest["account_id"].nunique() == len(newest)
    expected = bgnbd.fit(newest["repeat_purchases"], newest["days_first_to_last"], newest["days_since_first"])
    assert score.params["alpha"] == pytest.approx(expected.alpha)
    assert score.params["b"] == pytest.approx(expected.b)

    scores = score(test)
    assert scores.shape == (len(test),) and np.all((scores > 0) & (scores < 1))
    np.testing.assert_allclose(
        scores,
        bgnbd.p_no_transaction(
            expected, 90, test["repeat_purchases"], test["days_first_to_last"], test["days_since_first"]
        ),
    )
    # Rows without a purchase yet take their group's training rate.
    never = train["days_since_first"].isna()
    assert 0 < train.loc[never, LABEL].mean() < 1
    assert score.params["no_history_rate"] == pytest.approx(train.loc[never, LABEL].mean())
    assert score(train[never].head(3)) == pytest.approx([train.loc[never, LABEL].mean()] * 3)
    # It ranks the next 90 days of the newest week.
    assert binary_metrics(test[LABEL], scores)["auc"] > 0.75


def test_baseline_reads_active_days_and_days_since_last_the_same_way(snapshots: pd.DataFrame):
    """The snapshot may count the first purchase too and give days since the last one."""
    other = snapshots.assign(
        active_days=snapshots["repeat_purchases"] + 1,
        days_since_last=snapshots["days_since_first"] - snapshots["days_first_to_last"],
    )
    other["active_days"] = other["active_days"].fillna(0)  # no purchase: zero active days
    converted = baseline(
        frequency_column="active_days",
        recency_column="days_since_last",
        frequency_includes_first=True,
        recency_is_days_since_last=True,
    )
    np.testing.assert_allclose(converted.fit(other, LABEL)(other), baseline().fit(snapshots, LABEL)(snapshots))


def test_baseline_errors_name_the_columns(snapshots: pd.DataFrame):
    with pytest.raises(ValueError, match="no_such_column"):
        baseline(frequency_column="no_such_column").fit(snapshots, LABEL)
    swapped = baseline(recency_column="days_since_first", age_column="days_first_to_last")
    with pytest.raises(ValueError, match=r"days_first_to_last.*t_x greater than T"):
        swapped.fit(snapshots, LABEL)
    censored = snapshots.assign(**{LABEL: snapshots[LABEL].astype(float).where(snapshots.index > 0)})
    with pytest.raises(ValueError, match="labelled rows only"):
        baseline().fit(censored, LABEL)
