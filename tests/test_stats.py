"""Statistics behind the KPIs, checked against hand-computed or independently computed values."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from sagsindsigt.stats import (
    attribute_sample_size,
    cohens_kappa,
    funnel_limits,
    mann_whitney_p,
    percent_agreement,
    traffic_light,
    wilson_interval,
)

# --------------------------------------------------------------------------------------------
# Wilson interval
# --------------------------------------------------------------------------------------------


def test_wilson_known_value():
    lo, hi = wilson_interval(8, 10)
    assert lo == pytest.approx(0.4902, abs=5e-5)
    assert hi == pytest.approx(0.9433, abs=5e-5)


def test_wilson_extremes():
    z2 = 1.959963984540054**2
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0
    assert hi == pytest.approx(z2 / (10 + z2))  # closed form for 0 successes
    lo, hi = wilson_interval(10, 10)
    assert hi == 1.0
    assert lo == pytest.approx(10 / (10 + z2))


def test_wilson_confidence_and_symmetry():
    lo90, hi90 = wilson_interval(30, 100, confidence=0.90)
    lo95, hi95 = wilson_interval(30, 100)
    assert lo95 < lo90 < 0.30 < hi90 < hi95
    lo, hi = wilson_interval(70, 100)
    assert (lo, hi) == pytest.approx((1 - hi95, 1 - lo95))
    assert wilson_interval(50, 100) == pytest.approx((0.4038315, 0.5961685), abs=1e-6)


def test_wilson_errors():
    with pytest.raises(ValueError):
        wilson_interval(0, 0)
    with pytest.raises(ValueError):
        wilson_interval(11, 10)
    with pytest.raises(ValueError):
        wilson_interval(5, 10, confidence=95)


# --------------------------------------------------------------------------------------------
# Traffic light
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "colour"),
    [
        (100, "green"),
        (100.0, "green"),
        (95.0, "green"),
        (94.5, "green"),
        (189 / 200 * 100, "green"),  # 94.49999999999999 in floating point
        (94.49, "yellow"),
        (94.4, "yellow"),
        (94.0, "yellow"),
        (75.0, "yellow"),
        (74.5, "yellow"),
        (74.49, "red"),
        (74.0, "red"),
        (0, "red"),
        (0.0, "red"),
    ],
)
def test_traffic_light(rate, colour):
    assert traffic_light(rate) == colour


def test_traffic_light_out_of_range():
    with pytest.raises(ValueError):
        traffic_light(101)
    with pytest.raises(ValueError):
        traffic_light(-1)
    with pytest.raises(ValueError):
        traffic_light(float("nan"))


# --------------------------------------------------------------------------------------------
# Agreement between reviewers
# --------------------------------------------------------------------------------------------


def _table(yes_yes: int, yes_no: int, no_yes: int, no_no: int) -> list[tuple[str, str]]:
    return (
        [("ja", "ja")] * yes_yes
        + [("ja", "nej")] * yes_no
        + [("nej", "ja")] * no_yes
        + [("nej", "nej")] * no_no
    )


def test_kappa_hand_computed():
    # 50 cases: p_o = 35/50 = 0.7; reviewer A says ja 25/50, B 30/50;
    # p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5; kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4
    pairs = _table(20, 5, 10, 15)
    assert cohens_kappa(pairs) == pytest.approx(0.4)
    assert percent_agreement(pairs) == pytest.approx(70.0)


def test_kappa_three_categories():
    # A: a,a,b,b,c,c  B: a,b,b,b,c,a  -> p_o = 4/6
    # marginals A: a 2, b 2, c 2; B: a 2, b 3, c 1; p_e = (2*2 + 2*3 + 2*1) / 36 = 12/36 = 1/3
    # kappa = (2/3 - 1/3) / (2/3) = 0.5
    pairs = [("a", "a"), ("a", "b"), ("b", "b"), ("b", "b"), ("c", "c"), ("c", "a")]
    assert cohens_kappa(pairs) == pytest.approx(0.5)
    assert percent_agreement(pairs) == pytest.approx(400 / 6)


def test_kappa_edge_cases():
    assert cohens_kappa(_table(10, 0, 0, 10)) == pytest.approx(1.0)
    assert cohens_kappa(_table(0, 5, 5, 0)) == pytest.approx(-1.0)
    assert cohens_kappa([("ja", "ja")] * 8) is None  # expected agreement 1: undefined
    assert cohens_kappa([]) is None
    assert percent_agreement([("ja", "ja")] * 8) == 100.0
    with pytest.raises(ValueError):
        percent_agreement([])


# --------------------------------------------------------------------------------------------
# Mann-Whitney
# --------------------------------------------------------------------------------------------


def test_mann_whitney_hand_checkable():
    # Complete separation of 3 vs 3: U = 0 is 1 of C(6,3) = 20 equally likely rank splits;
    # two-sided p = 2 * 1/20 = 0.1
    assert mann_whitney_p([1, 2, 3], [4, 5, 6]) == pytest.approx(0.1)
    assert mann_whitney_p([4, 5, 6], [1, 2, 3]) == pytest.approx(0.1)
    # one inversion: U = 1; P(U <= 1) = 2/20; two-sided p = 0.2
    assert mann_whitney_p([1, 2, 4], [3, 5, 6]) == pytest.approx(0.2)
    # 2 vs 3 separated: 1 of C(5,2) = 10 splits; two-sided p = 0.2
    assert mann_whitney_p([1.5, 2.5], [3.0, 4.0, 5.0]) == pytest.approx(0.2)


def test_mann_whitney_empty_and_identical():
    assert mann_whitney_p([], [1, 2]) is None
    assert mann_whitney_p([1, 2], []) is None
    assert mann_whitney_p([1, 1, 1], [1, 1]) == pytest.approx(1.0)


# --------------------------------------------------------------------------------------------
# Attribute sample sizes (AICPA table, 5 % risk of overreliance)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expected_pct", "size"),
    [(0, 59), (1, 93), (2, 181)],
)
def test_aicpa_sizes(expected_pct, size):
    assert attribute_sample_size(95, 5, expected_pct) == size


@pytest.mark.parametrize(
    ("tolerable_pct", "size"),
    [(2, 149), (3, 99), (4, 74), (6, 49), (7, 42), (8, 36), (9, 32), (10, 29), (15, 19), (20, 14)],
)
def test_aicpa_zero_expected_row(tolerable_pct, size):
    assert attribute_sample_size(95, tolerable_pct, 0) == size


@pytest.mark.parametrize(
    ("expected_pct", "size"),
    # rows of the 5 % tolerable column where ceil and round differ (0.25 %: 93 with 1 deviation)
    [(0.25, 93), (0.5, 93), (1.25, 124), (1.5, 124), (1.75, 153), (2.25, 208)],
)
def test_aicpa_ceil_rule(expected_pct, size):
    assert attribute_sample_size(95, 5, expected_pct) == size


def exact_hypergeometric_size(conf, tol, exp, pop):
    """The smallest n with P(X <= ceil(n·exp) | N, ceil(tol·N), n) <= 1 − conf, by exact
    sums of binomial coefficients (math.comb, not scipy)."""
    from fractions import Fraction

    m = math.ceil(Fraction(tol) / 100 * pop)
    for n in range(1, pop + 1):
        k = math.ceil(Fraction(exp) / 100 * n)
        p = Fraction(sum(math.comb(m, x) * math.comb(pop - m, n - x) for x in range(k + 1)),
                     math.comb(pop, n))
        if p <= 1 - Fraction(conf) / 100:
            return n
    return pop


def test_sample_size_finite_population_is_exact_hypergeometric():
    # N = 100, 95 %, 5 %, 0 expected: 45 (the correction n/(1 + n/N) gave 38, with which the
    # confidence reached is only 91,4 %)
    assert attribute_sample_size(95, 5, 0, population=100) == 45
    assert exact_hypergeometric_size(95, 5, 0, 100) == 45
    assert 1 - math.comb(95, 38) / math.comb(100, 38) == pytest.approx(0.914, abs=5e-4)
    for pop in (1, 2, 10, 25, 60, 100, 150, 300, 500):
        for exp in (0, 1, 2):
            assert attribute_sample_size(95, 5, exp, population=pop) == \
                exact_hypergeometric_size(95, 5, exp, pop), (pop, exp)
    assert attribute_sample_size(90, 10, 0, population=40) == \
        exact_hypergeometric_size(90, 10, 0, 40)
    # large populations still give the AICPA table
    assert attribute_sample_size(95, 5, 0, population=10**9) == 59
    assert attribute_sample_size(95, 5, 1, population=10**9) == 93
    assert attribute_sample_size(95, 5, 2, population=10**9) == 181


def test_sample_size_errors():
    with pytest.raises(ValueError):
        attribute_sample_size(95, 5, 5)
    with pytest.raises(ValueError):
        attribute_sample_size(95, 5, 6)
    with pytest.raises(ValueError):
        attribute_sample_size(100, 5, 0)
    with pytest.raises(ValueError):
        attribute_sample_size(95, 5, 0, population=0)


# --------------------------------------------------------------------------------------------
# Funnel limits
# --------------------------------------------------------------------------------------------


def _brute_force_limit(q: Fraction, p0: Fraction, n: int) -> float:
    """Spiegelhalter's interpolated exact binomial limit, in exact rational arithmetic."""
    cdf = Fraction(0)
    previous = Fraction(0)
    for r in range(n + 1):
        pmf = math.comb(n, r) * p0**r * (1 - p0) ** (n - r)
        previous, cdf = cdf, cdf + pmf
        if cdf >= q:
            alpha = (cdf - q) / (cdf - previous)
            return min(1.0, max(0.0, float((r - alpha) / n)))
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    ("n", "p0"),
    [(100, "0.05"), (1000, "0.026"), (20, "0.5"), (50, "0.9"), (7, "0.3")],
)
def test_funnel_limits_brute_force(n, p0):
    p = Fraction(p0)
    limits = funnel_limits(float(p), n)
    expected = {
        "lower95": _brute_force_limit(Fraction("0.025"), p, n),
        "upper95": _brute_force_limit(Fraction("0.975"), p, n),
        "lower998": _brute_force_limit(Fraction("0.001"), p, n),
        "upper998": _brute_force_limit(Fraction("0.999"), p, n),
    }
    assert set(limits) == set(expected)
    for key, value in expected.items():
        assert limits[key] == pytest.approx(value, abs=1e-9), key
    assert limits["lower998"] <= limits["lower95"] <= float(p) <= limits["upper95"]
    assert limits["upper95"] <= limits["upper998"]


def test_funnel_limits_narrow_with_n():
    small, large = funnel_limits(0.1, 50), funnel_limits(0.1, 5000)
    assert small["upper95"] - small["lower95"] > large["upper95"] - large["lower95"]


def test_funnel_limits_edges():
    assert set(funnel_limits(0.0, 30).values()) == {0.0}
    assert set(funnel_limits(1.0, 30).values()) == {1.0}
    tiny = funnel_limits(0.001, 30)
    assert tiny["lower95"] == 0.0 and tiny["lower998"] == 0.0
    with pytest.raises(ValueError):
        funnel_limits(0.5, 0)
    with pytest.raises(ValueError):
        funnel_limits(1.5, 10)


def test_normal_quantiles_are_scipys_and_scipy_is_imported_on_use():
    """Z95 and Z998 are written out (importing scipy.stats takes half a second, which every
    report and command would pay); they must be scipy's values to the last bit."""
    import subprocess
    import sys

    from scipy.stats import norm

    from sagsindsigt import stats

    assert stats.Z95 == float(norm.ppf(0.975)) and stats.Z998 == float(norm.ppf(0.999))
    code = "import sys, sagsindsigt.reports; print('scipy.stats' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"
