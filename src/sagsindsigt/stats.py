"""Statistics behind the KPIs: confidence intervals, traffic lights, agreement between
reviewers, a rank test, audit sample sizes, funnel-plot limits and control charts (XmR,
Laney p′, the special-cause rules).

Pure functions; only the standard library, ``numpy`` and ``scipy`` are used.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from . import lazy

np = lazy.module("numpy")  # on first use, like SciPy below

__all__ = [
    "attribute_sample_size",
    "binary_agreement",
    "cohens_kappa",
    "funnel_limits",
    "laney_limits",
    "normal_limits",
    "overdispersion",
    "mann_whitney_p",
    "percent_agreement",
    "spc_signals",
    "traffic_light",
    "wilson_interval",
    "xmr_limits",
]

# scipy's norm.ppf(0.975) and norm.ppf(0.999), written out so that importing this module does
# not import scipy.stats (tests/test_stats.py checks they are scipy's to the last bit)
Z95, Z998 = 1.959963984540054, 3.090232306167813


def scipy_stats():
    """``scipy.stats``, imported on first use: it takes half a second, and most callers (a
    report, a page) never need it."""
    import scipy.stats

    return scipy.stats


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion, as ``(lower, upper)`` in 0..1.

    ``confidence`` is a fraction (0.95). Raises ValueError when ``n`` is 0.
    """
    if n <= 0:
        raise ValueError("Konfidensinterval kræver mindst én observation (n = 0).")
    if not 0 <= successes <= n:
        raise ValueError(f"Antal positive ({successes}) skal ligge mellem 0 og n ({n}).")
    if not 0 < confidence < 1:
        raise ValueError(f"Konfidensniveau skal ligge mellem 0 og 1, ikke {confidence}.")
    z = Z95 if confidence == 0.95 else float(scipy_stats().norm.ppf(1 - (1 - confidence) / 2))
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    lower = 0.0 if successes == 0 else max(0.0, centre - half)
    upper = 1.0 if successes == n else min(1.0, centre + half)
    return lower, upper


def traffic_light(rate_pct: float) -> str:
    """``green`` (95-100 %), ``yellow`` (75-94 %) or ``red`` (0-74 %).

    The rate is first rounded half-up to a whole percent (94.5 -> 95 -> green, 74.5 -> 75 ->
    yellow). Float noise from computing the rate (94.49999999999999 for 94.5) is removed by
    rounding to 9 decimals before the half-up rounding.
    """
    if rate_pct is None or math.isnan(rate_pct):
        raise ValueError("Der kan ikke gives en farve uden en procentsats.")
    whole = int(Decimal(repr(round(float(rate_pct), 9))).quantize(Decimal(1), ROUND_HALF_UP))
    if not 0 <= whole <= 100:
        raise ValueError(f"Procentsatsen {rate_pct} ligger uden for 0-100.")
    if whole >= 95:
        return "green"
    if whole >= 75:
        return "yellow"
    return "red"


def percent_agreement(pairs: Sequence[tuple[str, str]]) -> float:
    """Share of pairs where the two reviewers agree, in percent (0-100)."""
    if not pairs:
        raise ValueError("Enighed kan ikke beregnes uden vurderinger.")
    return 100.0 * sum(1 for a, b in pairs if a == b) / len(pairs)


def cohens_kappa(pairs: Sequence[tuple[str, str]]) -> float | None:
    """Cohen's kappa for two reviewers' categorical ratings of the same items.

    kappa = (p_o - p_e) / (1 - p_e) where p_o is the observed agreement and p_e the agreement
    expected from each reviewer's marginal distribution. None when undefined (no pairs, or
    p_e = 1, i.e. both reviewers used one and the same category throughout).
    """
    n = len(pairs)
    if n == 0:
        return None
    first = Counter(a for a, _ in pairs)
    second = Counter(b for _, b in pairs)
    p_o = Fraction(sum(1 for a, b in pairs if a == b), n)
    p_e = sum((Fraction(first[c] * second[c], n * n) for c in first), Fraction(0))
    if p_e == 1:
        return None
    return float((p_o - p_e) / (1 - p_e))


@dataclass(frozen=True)
class BinaryAgreement:
    """Agreement of two reviewers on a yes/no finding (an error or not), for rare errors.

    ``kappa`` is Cohen's kappa (None when undefined), ``pabak`` the prevalence- and bias-
    adjusted kappa 2·p_o − 1 (Byrt, Bishop & Carlin 1993), ``positive`` and ``negative`` the
    specific agreements 2a/(2a + b + c) on the finding and 2d/(2d + b + c) on its absence
    (Cicchetti & Feinstein 1990), all as fractions; None where a denominator is 0."""

    n: int
    observed: float
    kappa: float | None
    pabak: float
    positive: float | None
    negative: float | None


def binary_agreement(pairs: Sequence[tuple[str, str]], positive: str) -> BinaryAgreement | None:
    """Agreement statistics for pairs of two-valued ratings; ``positive`` is the finding
    (``fejl``). None without pairs."""
    n = len(pairs)
    if n == 0:
        return None
    a = sum(1 for x, y in pairs if x == positive and y == positive)
    d = sum(1 for x, y in pairs if x != positive and y != positive)
    off = n - a - d
    p_o = (a + d) / n
    return BinaryAgreement(
        n=n, observed=p_o, kappa=cohens_kappa(pairs), pabak=2 * p_o - 1,
        positive=2 * a / (2 * a + off) if a or off else None,
        negative=2 * d / (2 * d + off) if d or off else None)


def mann_whitney_p(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Two-sided p-value of the Mann-Whitney U test (scipy's exact/asymptotic choice).

    None when either sample is empty.
    """
    if len(a) == 0 or len(b) == 0:
        return None
    p = float(scipy_stats().mannwhitneyu(list(a), list(b), alternative="two-sided").pvalue)
    return None if math.isnan(p) else p


def _rate(pct: float) -> Fraction:
    """A percentage as an exact fraction (1 -> 1/100), avoiding float noise in ceil()."""
    return Fraction(Decimal(repr(float(pct)))) / 100


def attribute_sample_size(
    confidence_pct: float,
    tolerable_pct: float,
    expected_pct: float,
    population: int | None = None,
) -> int:
    """Sample size for a test of controls (attribute sampling).

    The smallest n with P(X <= k) <= 1 - confidence for X ~ Binomial(n, tolerable rate), where
    k = ceil(n * expected rate) is the number of deviations allowed for. The ceil rule
    reproduces the AICPA table (95 % confidence, 5 % tolerable: 59 at 0 %, 93(1) at 1 %,
    181(4) at 2 % expected); floor gives 0 resp. 3 deviations and too small samples.

    With ``population`` N the sample is drawn without replacement, so the exact distribution
    is hypergeometric: the smallest n with P(X <= k | N, M = ceil(tolerable * N), n) <= 1 -
    confidence (a census, n = N, when none is smaller). The usual correction
    n / (1 + n / N) is not used: it undershoots (N = 100, 95 %, 5 %: 38 where 45 is needed,
    with 38 cases the confidence reached is 91,4 %).
    """
    if not 0 < confidence_pct < 100:
        raise ValueError(f"Konfidensniveau skal ligge mellem 0 og 100 %, ikke {confidence_pct}.")
    if not 0 < tolerable_pct < 100:
        raise ValueError(f"Tolerabel fejlrate skal ligge mellem 0 og 100 %, ikke {tolerable_pct}.")
    if not 0 <= expected_pct < tolerable_pct:
        raise ValueError(
            f"Forventet fejlrate ({expected_pct} %) skal være mindst 0 og mindre end "
            f"den tolerable ({tolerable_pct} %)."
        )
    if population is not None and population < 1:
        raise ValueError(f"Populationen skal have mindst ét element, ikke {population}.")

    risk = 1 - confidence_pct / 100
    tolerable = tolerable_pct / 100
    expected = _rate(expected_pct)
    num, den = expected.numerator, expected.denominator

    n = None
    lo, size = 1, 1024
    while lo <= 10_000_000:
        ns = np.arange(lo, lo + size, dtype=np.int64)
        ks = -((-ns * num) // den)  # exact ceil(n * expected)
        hits = np.nonzero(scipy_stats().binom.cdf(ks, ns, tolerable) <= risk)[0]
        if hits.size:
            n = int(ns[hits[0]])
            break
        lo += size
        size *= 2
    if n is None:
        raise ValueError(
            "Stikprøven bliver urealistisk stor: den forventede fejlrate ligger for tæt på "
            "den tolerable."
        )
    if population is not None:
        n = _hypergeometric_size(n, population, tolerable_pct, num, den, risk)
    return n


def _hypergeometric_size(upper: int, population: int, tolerable_pct: float, num: int,
                         den: int, risk: float) -> int:
    """The smallest n <= min(upper, N) meeting the risk under the hypergeometric
    distribution (it never needs more than the binomial ``upper``), else N."""
    errors = math.ceil(_rate(tolerable_pct) * population)  # M, the tolerable errors in N
    ns = np.arange(1, min(upper, population) + 1, dtype=np.int64)
    ks = -((-ns * num) // den)
    hits = np.nonzero(scipy_stats().hypergeom.cdf(ks, population, errors, ns) <= risk)[0]
    return int(ns[hits[0]]) if hits.size else population


def _interpolated_limit(q: float, p0: float, n: int) -> float:
    r = float(scipy_stats().binom.ppf(q, n, p0))
    upper = float(scipy_stats().binom.cdf(r, n, p0))
    below = float(scipy_stats().binom.cdf(r - 1, n, p0))
    alpha = (upper - q) / (upper - below) if upper > below else 0.0
    return min(1.0, max(0.0, (r - alpha) / n))


def funnel_limits(p0: float, n: int) -> dict[str, float]:
    """Funnel-plot control limits (as proportions) around target ``p0`` for ``n`` cases.

    Exact binomial limits with Spiegelhalter's (2005) interpolation: for a tail probability q,
    r = the q-quantile of Binomial(n, p0), alpha = (F(r) - q) / (F(r) - F(r - 1)) and the
    limit is (r - alpha) / n, clipped to [0, 1]. Keys: ``lower95``/``upper95`` (q = 0.025 and
    0.975) and ``lower998``/``upper998`` (q = 0.001 and 0.999). For p0 = 0 or 1 every limit
    is p0.
    """
    if n < 1:
        raise ValueError("Tragtgrænser kræver mindst én sag (n = 0).")
    if not 0 <= p0 <= 1:
        raise ValueError(f"Målet p0 skal ligge mellem 0 og 1, ikke {p0}.")
    if p0 in (0.0, 1.0):  # degenerate distribution: every outcome equals p0
        return dict.fromkeys(("lower95", "upper95", "lower998", "upper998"), float(p0))
    return {
        "lower95": _interpolated_limit(0.025, p0, n),
        "upper95": _interpolated_limit(0.975, p0, n),
        "lower998": _interpolated_limit(0.001, p0, n),
        "upper998": _interpolated_limit(0.999, p0, n),
    }



@dataclass(frozen=True)
class Overdispersion:
    """Spiegelhalter's (2005) overdispersion estimate for units compared on one target.

    ``phi`` is the mean of the squared winsorised z-scores (1 when units differ no more than
    chance allows), ``p_value`` that of the χ² test of I·φ on I − 1 degrees of freedom, and
    ``tau2`` the additive random-effects variance (0 when I·φ ≤ I − 1)."""

    phi: float
    tau2: float
    p_value: float
    units: int

    def overdispersed(self, alpha: float = 0.05) -> bool:
        return self.units >= 2 and self.p_value < alpha


def overdispersion(y: Sequence[float], target: Sequence[float] | float,
                   s2: Sequence[float]) -> Overdispersion:
    """Overdispersion of the proportions ``y`` around ``target`` (one value for every unit, or
    one per unit after case-mix standardisation) with within-unit variances ``s2``
    (p0(1 − p0)/n for a plain rate).

    Spiegelhalter, D. J. (2005), *Funnel plots for comparing institutional performance*,
    Statistics in Medicine 24:1185–1202, and *Handling over-dispersion of performance
    indicators*, Qual Saf Health Care 14:347–351: z_i = (y_i − t_i)/s_i, winsorised at the
    10th and 90th percentiles (linear interpolation), φ = Σ z_w²/I, I·φ ~ χ²(I − 1) without
    overdispersion, τ² = (I·φ − (I − 1)) / (Σw − Σw²/Σw) with w = 1/s² (0 when negative).
    """
    y_, s2_ = np.asarray(y, dtype=float), np.asarray(s2, dtype=float)
    t_ = np.broadcast_to(np.asarray(target, dtype=float), y_.shape)
    keep = s2_ > 0
    y_, t_, s2_ = y_[keep], t_[keep], s2_[keep]
    i = int(y_.size)
    if i < 2:
        return Overdispersion(1.0, 0.0, 1.0, i)
    z = (y_ - t_) / np.sqrt(s2_)
    lo, hi = np.percentile(z, [10, 90])  # numpy's default: linear interpolation
    zw = np.clip(z, lo, hi)
    phi = float(np.mean(zw * zw))
    p = float(scipy_stats().chi2.sf(i * phi, i - 1))
    w = 1 / s2_
    denominator = float(w.sum() - (w * w).sum() / w.sum())
    tau2 = max(0.0, (i * phi - (i - 1)) / denominator) if denominator > 0 else 0.0
    return Overdispersion(phi, tau2, p, i)


def normal_limits(target: float, s2: float, adjustment: str = "none", phi: float = 1.0,
                  tau2: float = 0.0) -> dict[str, float]:
    """Normal-approximation control limits around ``target`` for a unit with within-unit
    variance ``s2``, as proportions clipped to [0, 1]: ``none`` t ± z·s, ``multiplicative``
    t ± z·√(φ·s²), ``additive`` t ± z·√(s² + τ²) (Spiegelhalter 2005)."""
    if adjustment == "multiplicative":
        sd = math.sqrt(max(phi, 0.0) * s2)
    elif adjustment == "additive":
        sd = math.sqrt(s2 + tau2)
    elif adjustment == "none":
        sd = math.sqrt(s2)
    else:
        raise ValueError(f"Ukendt justering for overspredning: {adjustment}")
    return {"lower95": min(1.0, max(0.0, target - Z95 * sd)),
            "upper95": min(1.0, max(0.0, target + Z95 * sd)),
            "lower998": min(1.0, max(0.0, target - Z998 * sd)),
            "upper998": min(1.0, max(0.0, target + Z998 * sd))}
# -- statistical process control (kpis/spc.py) ------------------------------------------------

D2 = 1.128  # d2 for moving ranges of two points: E[|X1 - X2|] = 1.128 sigma (normal)
SPC_RUN = 7  # points in a row for a shift or a trend (NHS England, "Making Data Count")
SPC_RULES = ("outside", "two_of_three", "shift", "trend")  # also the priority of a side


def xmr_limits(values: Sequence[float]) -> dict[str, float]:
    """Limits of an XmR (individuals and moving range) chart: centre = the mean, sigma =
    mean moving range / 1.128, limits mean ± 3 sigma (= mean ± 2.66 · mR̄). Consecutive values
    in the order given; at least two. No screening of large moving ranges."""
    x = np.asarray(values, dtype=float)
    if x.size < 2:
        raise ValueError("Et XmR-kort kræver mindst to målinger.")
    mr = float(np.mean(np.abs(np.diff(x))))
    centre = float(np.mean(x))
    sigma = mr / D2
    return {"centre": centre, "mr_bar": mr, "sigma": sigma,
            "lower": centre - 3 * sigma, "upper": centre + 3 * sigma}


def laney_limits(x: Sequence[float], n: Sequence[float]) -> dict[str, Any]:
    """Laney's p′ chart (Laney 2002, *Quality Engineering* 14(4):531–537) for counts ``x``
    out of ``n`` per subgroup (every n > 0), as proportions: p̄ = Σx/Σn,
    σ_pi = √(p̄(1 − p̄)/n_i), z_i = (p_i − p̄)/σ_pi, σ_z = mean moving range of z / 1.128, and
    the limits p̄ ± 3 σ_pi σ_z clipped to [0, 1]. ``sigma`` per subgroup is σ_pi σ_z (what the
    2-of-3 rule measures in). When p̄ is 0 or 1 every sigma is 0 and the limits are p̄."""
    xs, ns = np.asarray(x, dtype=float), np.asarray(n, dtype=float)
    if xs.size < 2 or xs.size != ns.size:
        raise ValueError("Et p′-kort kræver mindst to delgrupper med tæller og nævner.")
    if np.any(ns <= 0) or np.any(xs < 0) or np.any(xs > ns):
        raise ValueError("Hver delgruppe skal have 0 ≤ tæller ≤ nævner og nævner > 0.")
    p_bar = float(xs.sum() / ns.sum())
    if p_bar in (0.0, 1.0):
        zero = [0.0] * xs.size
        return {"centre": p_bar, "sigma_z": 0.0, "sigma": zero, "lower": [p_bar] * xs.size,
                "upper": [p_bar] * xs.size}
    sigma_p = np.sqrt(p_bar * (1 - p_bar) / ns)
    z = (xs / ns - p_bar) / sigma_p
    sigma_z = float(np.mean(np.abs(np.diff(z)))) / D2
    sigma = sigma_p * sigma_z
    return {"centre": p_bar, "sigma_z": sigma_z, "sigma": [float(s) for s in sigma],
            "lower": [float(v) for v in np.clip(p_bar - 3 * sigma, 0, 1)],
            "upper": [float(v) for v in np.clip(p_bar + 3 * sigma, 0, 1)]}


def spc_signals(values: Sequence[float], centre: float,
                sigma: float | Sequence[float]) -> list[dict[str, Any] | None]:
    """The special-cause rules of NHS England's "Making Data Count" on consecutive points:

    * ``outside``: a point beyond centre ± 3 sigma;
    * ``shift``: 7 or more points in a row on the same side of the centre (a point exactly on
      the centre ends the run);
    * ``trend``: 7 or more points in a row each higher (or each lower) than the one before (a
      repeated value ends the run);
    * ``two_of_three``: 2 of 3 consecutive points beyond centre ± 2 sigma on the same side
      (the outer third; a point outside the limits counts); the points beyond are flagged.

    ``sigma`` is one number or one per point (p′ limits vary with n). Returns per point
    ``None`` or ``{"side": "high" | "low", "rules": [...]}``; a point caught on both sides
    (a rising trend that starts below the lower limit) takes the side of its first rule in
    the order outside, two_of_three, shift, trend."""
    v = [float(a) for a in values]
    k = len(v)
    s = [float(sigma)] * k if isinstance(sigma, int | float) else [float(a) for a in sigma]
    found: list[dict[str, str]] = [{} for _ in range(k)]  # rule -> side

    def mark(i: int, rule: str, side: str) -> None:
        found[i].setdefault(rule, side)

    for i in range(k):
        if v[i] > centre + 3 * s[i]:
            mark(i, "outside", "high")
        elif v[i] < centre - 3 * s[i]:
            mark(i, "outside", "low")
    for i in range(k - 2):
        for side, beyond in (("high", lambda j: v[j] > centre + 2 * s[j]),
                             ("low", lambda j: v[j] < centre - 2 * s[j])):
            hits = [j for j in range(i, i + 3) if beyond(j)]
            if len(hits) >= 2:
                for j in hits:
                    mark(j, "two_of_three", side)

    def runs(same: Callable[[int], str | None], rule: str, first: int) -> None:
        """Mark every run of at least SPC_RUN points; ``same(i)`` is the side point i
        continues (for a trend: compared with point i - 1), ``first`` points the run
        includes before the first compared one."""
        i = 0
        while i < k:
            side = same(i)
            if side is None:
                i += 1
                continue
            j = i
            while j + 1 < k and same(j + 1) == side:
                j += 1
            start = max(0, i - first)
            if j - start + 1 >= SPC_RUN:
                for m in range(start, j + 1):
                    mark(m, rule, side)
            i = j + 1

    runs(lambda i: "high" if v[i] > centre else "low" if v[i] < centre else None, "shift", 0)
    runs(lambda i: None if i == 0 else "high" if v[i] > v[i - 1] else
         "low" if v[i] < v[i - 1] else None, "trend", 1)
    out: list[dict[str, Any] | None] = []
    for f in found:
        if not f:
            out.append(None)
            continue
        rules = [r for r in SPC_RULES if r in f]
        out.append({"side": f[rules[0]], "rules": rules})
    return out
