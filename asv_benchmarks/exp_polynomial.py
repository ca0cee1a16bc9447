"""The polynomial of ``fastgmm._kernels._inline.exp_nonpositive``, derived again.

Run: ``python asv_benchmarks/exp_polynomial.py`` (needs mpmath, which
SymPy brings; not a dependency of fastgmm).

After the range reduction ``x = n ln 2 + r``, ``|r| <= ln(2)/2``, the helper
evaluates ``exp(r) = 1 + r + r^2 q(r)``. ``q`` is the Chebyshev fit of degree
9 of ``(exp(r) - 1 - r) / r^2`` on that interval, in 50-digit arithmetic
(``mpmath.chebyfit``). Printed: the coefficients as ``_EXP_Q`` holds them
(ascending, float64) and the largest relative error of the whole polynomial
with those float64 coefficients, evaluated exactly, over 4001 points of the
interval; beside it the degree-12 Taylor polynomial the helper used before.
"""

import math

import mpmath as mp

mp.mp.dps = 50
HALF_LN2 = mp.log(2) / 2


def _q(r):
    if abs(r) < mp.mpf("1e-20"):
        return mp.mpf(1) / 2
    return (mp.exp(r) - 1 - r) / r**2


def worst_relative_error(coefficients, points=4001):
    """Largest |p(r) / exp(r) - 1| over the interval; ``coefficients`` of p, ascending."""
    worst = mp.mpf(0)
    for i in range(points):
        r = -HALF_LN2 + 2 * HALF_LN2 * i / (points - 1)
        value = mp.mpf(0)
        for c in reversed(coefficients):
            value = value * r + mp.mpf(c)
        worst = max(worst, abs(value / mp.exp(r) - 1))
    return worst


def main():
    q = [float(c) for c in mp.chebyfit(_q, [-HALF_LN2, HALF_LN2], 10)[::-1]]
    print("_EXP_Q = (" + ", ".join(repr(c) for c in q) + ")")
    print("degree 11 (this fit):", mp.nstr(worst_relative_error([1.0, 1.0] + q), 3))
    taylor = [1.0 / math.factorial(i) for i in range(13)]
    print("degree 12 (Taylor):  ", mp.nstr(worst_relative_error(taylor), 3))


if __name__ == "__main__":
    main()
