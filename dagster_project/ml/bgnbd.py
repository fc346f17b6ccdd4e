"""The BG/NBD model ("beta-geometric / negative binomial distribution"; Fader, Hardie & Lee 2005,
"Counting your customers the easy way"), fitted by maximum likelihood with scipy.

The story the model tells about each customer:
- while alive, the customer transacts as a Poisson process with rate lambda;
- right after each repeat transaction the customer drops out for good with probability p;
- across customers, lambda ~ Gamma(shape r, rate alpha) and p ~ Beta(a, b).

What it needs per customer (all times in one unit, whichever: the fitted alpha is in that unit;
the churn baseline uses days):
- `x`   the number of repeat transactions (transactions after the first one);
- `t_x` the time of the last transaction, measured from the first one (0 when x = 0);
- `T`   the time from the first transaction to the observation date (T >= t_x).

A customer with no transaction at all has no (x, t_x, T): the model starts at the first purchase
and says nothing about whether a first one will come. Such customers are neither fitted nor
scored here; the caller decides (`baselines.BGNBDBaseline` gives them their group's training rate).

Everything is computed on the log scale (gammaln, betaln, logaddexp, expit) so that long, busy
histories (x in the hundreds) neither overflow nor lose their precision.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.integrate import quad
from scipy.optimize import minimize
from scipy.special import betaincinv, betaln, digamma, expit, gammaln, hyp2f1

# Bounds of the log-parameters during the fit: exp(+-15) spans ~3e-7 .. 3e6, far beyond any
# plausible value once times are rescaled (see `fit`), and keeps the search away from overflow.
_LOG_BOUND = 15.0


@dataclass(frozen=True)
class BGNBDParams:
    """Population parameters: lambda ~ Gamma(shape r, rate alpha), p ~ Beta(a, b).

    `alpha` carries the time unit of the data it was fitted on (the mean rate is r / alpha per unit):
    the same customers measured in days instead of weeks give 7 x alpha and the same r, a, b.
    """

    r: float
    alpha: float
    a: float
    b: float

    def __post_init__(self) -> None:
        values = np.array([self.r, self.alpha, self.a, self.b], dtype="float64")
        if not np.all(np.isfinite(values)) or np.any(values <= 0):
            raise ValueError(f"BG/NBD parameters must be finite and > 0, got {self}.")

    def as_dict(self) -> dict[str, float]:
        """The four parameters as plain floats (for metadata)."""
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}


def check_customers(x, t_x, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, t_x, T) as float arrays of one shape, or a ValueError saying which customers break
    the model's meaning: missing or infinite values, x negative or fractional, t_x < 0, t_x > T,
    or t_x > 0 with x = 0 (no repeat transaction, so the last one is the first, at time 0)."""
    try:
        x, t_x, T = (np.asarray(v, dtype="float64") for v in np.broadcast_arrays(x, t_x, T))
    except ValueError as error:
        raise ValueError(f"BG/NBD inputs x, t_x, T must have one shape: {error}") from None
    problems = {
        "missing or infinite values": ~(np.isfinite(x) & np.isfinite(t_x) & np.isfinite(T)),
        "x (repeat transactions) negative or not a whole number": (x < 0) | (x != np.round(x)),
        "t_x (time of the last transaction) negative": t_x < 0,
        "t_x greater than T (last transaction after the observation date)": t_x > T,
        "t_x > 0 with x = 0 (without repeat transactions the last one is the first, at 0)": (x == 0) & (t_x > 0),
    }
    for what, bad in problems.items():
        if np.any(bad):
            first = int(np.flatnonzero(bad.ravel())[0])
            raise ValueError(
                f"BG/NBD inputs: {int(bad.sum())} customer(s) with {what}; the first at position {first} "
                f"(x={x.ravel()[first]}, t_x={t_x.ravel()[first]}, T={T.ravel()[first]}). "
                f"Drop customers without any transaction and measure t_x and T from the first one."
            )
    return x, t_x, T


def log_likelihood(params: BGNBDParams, x, t_x, T) -> np.ndarray:
    """Each customer's log-likelihood of (x, t_x, T) (the paper's equation 6):

    L = Gamma(r+x) alpha^r / Gamma(r) * [ B(a, b+x)/B(a, b) (alpha+T)^-(r+x)
                                          + 1{x>0} B(a+1, b+x-1)/B(a, b) (alpha+t_x)^-(r+x) ]

    The first term: still alive at T after x repeat transactions; the second: dropped out right
    after the last one, at t_x.
    """
    x, t_x, T = check_customers(x, t_x, T)
    customers = _Customers.of(x.ravel(), t_x.ravel(), T.ravel())
    ll, _ = _log_likelihood_terms(np.log([params.r, params.alpha, params.a, params.b]), customers)
    return ll.reshape(x.shape)


@dataclass(frozen=True)
class _Customers:
    """Validated flat (x, t_x, T), with the distinct counts: the gamma and beta functions depend on
    x only, so they are computed once per distinct count (a few dozen values for thousands of
    customers) and spread back with `at`."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    counts: np.ndarray
    at: np.ndarray
    repeat: np.ndarray

    @classmethod
    def of(cls, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> _Customers:
        counts, at = np.unique(x, return_inverse=True)
        return cls(x=x, t_x=t_x, T=T, counts=counts, at=at, repeat=x > 0)


def _log_likelihood_terms(log_params: np.ndarray, c: _Customers) -> tuple[np.ndarray, np.ndarray]:
    """(log-likelihood, posterior weight of the dropout term) per customer."""
    r, alpha, a, b = np.exp(log_params)
    head = (gammaln(r + c.counts) - gammaln(r) + r * np.log(alpha) - betaln(a, b))[c.at]
    alive = betaln(a, b + c.counts)[c.at] - (r + c.x) * np.log(alpha + c.T)
    # The dropout term only exists for x > 0 (where b + x - 1 > 0); at x = 0 it is evaluated at
    # x = 1 instead, to keep betaln(a + 1, b - 1) (undefined for b < 1) out of those rows.
    dropped = betaln(a + 1, b + np.maximum(c.counts, 1) - 1)[c.at] - (r + c.x) * np.log(alpha + c.t_x)
    ll = head + np.where(c.repeat, np.logaddexp(alive, dropped), alive)
    weight = np.where(c.repeat, expit(dropped - alive), 0.0)
    return ll, weight


def _mean_negative_log_likelihood(log_params: np.ndarray, c: _Customers) -> tuple[float, np.ndarray]:
    """The mean negative log-likelihood and its gradient in (log r, log alpha, log a, log b).

    The gradient is analytic (digamma for the gamma and beta functions; `weight` is the posterior
    share of the dropout term), which makes the fit several times faster and steadier than
    finite differences.
    """
    r, alpha, a, b = np.exp(log_params)
    ll, w = _log_likelihood_terms(log_params, c)
    psi_rx, psi_abx, psi_bx = (digamma(v)[c.at] for v in (r + c.counts, a + b + c.counts, b + c.counts))
    psi_bx_before = digamma(b + np.maximum(c.counts, 1) - 1)[c.at]  # only where x > 0 (w = 0 elsewhere)
    log_end = (1 - w) * np.log(alpha + c.T) + w * np.log(alpha + c.t_x)
    d_r = psi_rx - digamma(r) + np.log(alpha) - log_end
    d_alpha = r / alpha - (r + c.x) * ((1 - w) / (alpha + c.T) + w / (alpha + c.t_x))
    psi_ab = digamma(a + b)
    d_a = psi_ab - digamma(a) + (1 - w) * (digamma(a) - psi_abx) + w * (digamma(a + 1) - psi_abx)
    d_b = psi_ab - digamma(b) + (1 - w) * (psi_bx - psi_abx) + w * (psi_bx_before - psi_abx)
    gradient = np.array([d_r.mean(), d_alpha.mean(), d_a.mean(), d_b.mean()]) * np.array([r, alpha, a, b])
    return -float(ll.mean()), -gradient


def fit(x, t_x, T) -> BGNBDParams:
    """Maximum-likelihood (r, alpha, a, b) for customers (x, t_x, T) (see the module docstring).

    The four parameters are optimized on the log scale (so they stay positive) with L-BFGS-B and
    the analytic gradient; times are first divided by their median T so that the search starts
    near the answer whatever the unit (the likelihood is unit-free up to a constant: alpha is
    scaled back at the end). Raises ValueError for inconsistent inputs or when nobody made a
    repeat transaction (then the purchase rate and the dropout cannot be told apart).
    """
    x, t_x, T = (v.ravel() for v in check_customers(x, t_x, T))
    if x.size == 0:
        raise ValueError("Cannot fit BG/NBD on zero customers.")
    if not np.any(x > 0):
        raise ValueError(
            f"Cannot fit BG/NBD: none of the {x.size} customers made a repeat transaction, so the purchase "
            f"rate and the dropout probability are not identifiable. Fit on a longer history."
        )
    scale = float(np.median(T[T > 0])) if np.any(T > 0) else 1.0
    customers = _Customers.of(x, t_x / scale, T / scale)
    start = np.zeros(4)  # r = alpha = a = b = 1 in units of the median T
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * 4
    result = minimize(
        _mean_negative_log_likelihood, start, args=(customers,), jac=True, method="L-BFGS-B", bounds=bounds
    )
    if not result.success:
        # L-BFGS-B can stop on a line search that finds no more decrease right next to the
        # optimum; Nelder-Mead from there polishes without gradients.
        result = minimize(
            lambda v: _mean_negative_log_likelihood(v, customers)[0],
            result.x,
            method="Nelder-Mead",
            options={"xatol": 1e-7, "fatol": 1e-12},
        )
    if not np.isfinite(result.fun):
        raise ValueError(f"BG/NBD fit did not converge on {x.size} customers: {result.message}")
    r, alpha, a, b = np.exp(result.x)
    return BGNBDParams(r=float(r), alpha=float(alpha * scale), a=float(a), b=float(b))


def _log_odds_dead(params: BGNBDParams, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """log P(dropped out) - log P(alive) given the history; -inf for x = 0 (alive for sure)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    repeat = x > 0
    x_safe = np.where(repeat, x, 1.0)
    odds = np.log(a) - np.log(b + x_safe - 1) + (r + x) * np.log1p((T - t_x) / (alpha + t_x))
    return np.where(repeat, odds, -np.inf)


def p_alive(params: BGNBDParams, x, t_x, T) -> np.ndarray:
    """P(the customer is still alive at T | x, t_x, T) (the paper's equation 11):

    1 / (1 + 1{x>0} a / (b+x-1) ((alpha+T) / (alpha+t_x))^(r+x))

    Exactly 1 for x = 0: in BG/NBD a customer can only drop out right after a repeat transaction.
    """
    x, t_x, T = check_customers(x, t_x, T)
    return expit(-_log_odds_dead(params, x, t_x, T))


def _check_horizon(t) -> np.ndarray:
    t = np.asarray(t, dtype="float64")
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError(f"The forecast horizon t must be finite and >= 0, got {t}.")
    return t


def expected_transactions(params: BGNBDParams, t, x, t_x, T) -> np.ndarray:
    """E[number of transactions in (T, T+t] | x, t_x, T] (the paper's equation 10):

    (a+b+x-1)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))] * P(alive)

    The bracket is E[(1 - exp(-lambda p t)) / p] under the alive customer's posterior (lambda ~
    Gamma(r+x, alpha+T), p ~ Beta(a, b+x)); the closed form holds for every a > 0 but a = 1 (where
    it is 0/0). Where it cannot be evaluated (a = 1 exactly, or 2F1 overflowing for hundreds of
    transactions in a short T), that expectation is integrated numerically over p instead.
    """
    x, t_x, T = check_customers(x, t_x, T)
    t, x, t_x, T = np.broadcast_arrays(_check_horizon(t), x, t_x, T)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        no_event = np.exp(-(r + x) * np.log1p(t / (alpha + T)))
        hyper = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
        alive_mean = np.asarray((a + b + x - 1) / (a - 1) * (1 - no_event * hyper), dtype="float64")
    flat = alive_mean.reshape(-1)  # a view: patched in place
    for i in np.flatnonzero(~np.isfinite(flat)):
        flat[i] = _alive_mean_by_quadrature(params, t.flat[i], x.flat[i], T.flat[i])
    return alive_mean * expit(-_log_odds_dead(params, x, t_x, T))


def _alive_mean_by_quadrature(params: BGNBDParams, t: float, x: float, T: float) -> float:
    """E[(1 - ((alpha+T) / (alpha+T+p t))^(r+x)) / p] for p ~ Beta(a, b+x), integrated by quad over
    the beta quantiles u = F(p) (so a density piled up near 0, as after hundreds of transactions,
    is sampled where its mass is); the integrand tends to (r+x) t / (alpha+T) at p = 0."""
    n, scale = params.r + x, params.alpha + T

    def mean_given_quantile(u: float) -> float:
        p = float(betaincinv(params.a, params.b + x, u))
        return float(-np.expm1(-n * np.log1p(p * t / scale)) / p) if p > 0 else n * t / scale

    integral, _ = quad(mean_given_quantile, 0, 1, epsabs=0, epsrel=1e-10, limit=200)
    return integral


def p_no_transaction(params: BGNBDParams, t, x, t_x, T) -> np.ndarray:
    """P(no transaction in (T, T+t] | x, t_x, T): dead, or alive with zero Poisson events.

    (1 - P(alive)) + P(alive) ((alpha+T) / (alpha+T+t))^(r+x)

    The second factor is P(no event in t) under the alive customer's posterior rate, lambda ~
    Gamma(r+x, alpha+T). This is the probability a churn-style backtest scores ("no purchase in the
    next 90 days"). Computed as 1 - P(alive) (1 - ratio) with expm1, so it stays below 1 for
    busy, recent customers instead of rounding up.
    """
    x, t_x, T = check_customers(x, t_x, T)
    t = _check_horizon(t)
    log_no_event = -(params.r + x) * np.log1p(t / (params.alpha + T))
    buys = -np.expm1(log_no_event)  # P(at least one event | alive)
    return 1.0 - expit(-_log_odds_dead(params, x, t_x, T)) * buys
