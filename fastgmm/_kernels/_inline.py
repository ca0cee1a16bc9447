"""Small scalar helpers inlined into the kernels."""

import math
import struct

import numpy as np

from llvmlite import ir
from numba import config, njit, types
from numba.extending import intrinsic

from .._config import FASTMATH, NUMBA_CACHE
from . import EXACT_JIT

LOG_2PI = math.log(2.0 * math.pi)

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
# Below this the helper returns exactly 0. exp(-690) = 2e-300: responsibilities
# (ratios of such terms to a sum >= 1) then stay normal numbers, and
# subnormals, which slow every later operation on them, never reach the
# statistics. A term that small is below any float64 relative precision.
EXP_CUTOFF = -690.0


@intrinsic
def _bits_to_float64(typingctx, bits):
    """Reinterpret the bits of an int64 as a float64 (no conversion)."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return sig, codegen


@intrinsic
def float64_bits(typingctx, x):
    """The bits of a float64 as an int64 (no conversion): the inverse of
    ``_bits_to_float64``."""
    sig = types.int64(types.float64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return sig, codegen


if config.DISABLE_JIT:
    # NUMBA_DISABLE_JIT=1 runs the kernels as Python (for coverage and
    # debugging), where an intrinsic cannot run.
    def _bits_to_float64(bits):  # noqa: F811
        return struct.unpack("<d", struct.pack("<q", int(bits)))[0]

    def float64_bits(x):  # noqa: F811
        return struct.unpack("<q", struct.pack("<d", float(x)))[0]


_MANTISSA = (1 << 52) - 1
# The mantissa bits of sqrt(2): a mantissa above them is reduced into
# [sqrt(1/2), 1) by one less in the exponent.
_SQRT2_MANTISSA = struct.unpack("<q", struct.pack("<d", math.sqrt(2.0)))[0] & _MANTISSA


@njit(inline="always", cache=NUMBA_CACHE)
def _reduced(bits):
    """The float ``m`` in [sqrt(1/2), sqrt(2)) with ``x = m 2**e`` for the
    positive normal float64 ``x`` of these bits (only the mantissa's bits
    are read; :func:`sum_of_logs` adds up the exponents)."""
    mantissa = bits & _MANTISSA
    big = mantissa > _SQRT2_MANTISSA
    return _bits_to_float64(mantissa | ((1023 - big) << 52))


# Not fast-math: the products and the final sum are rounded as written. Said
# explicitly: a function whose decorator leaves ``fastmath`` unset is
# compiled with the flags of the caller that first needs it (Numba's
# ``Flags.inherit_if_not_set``), here the fast-math ``_block_loglik``.
@njit(**dict(EXACT_JIT, error_model="numpy"))
def sum_of_logs(values, n_values):
    """``sum_i log(values[i])`` over the first ``n_values`` float64 values,
    one scalar logarithm per 64 values.

    A positive normal ``x`` is ``m 2**e`` with ``m`` in [sqrt(1/2),
    sqrt(2)): the exponents are summed exactly as integers, and the
    mantissas multiplied in eight independent products over groups of 64
    values (each product stays within 2**(+-32)); ``e ln 2`` is added in
    two parts. Its error is absolute, about 1e-15 per group of 64 (the
    products' rounding). If any value is zero, subnormal, negative, inf or
    NaN, the values are summed one by one (``np.log``'s -inf, nan, inf).
    Its users: ``diag.log_sums`` (log-determinants of diagonal factors) and
    ``em_pass._block_loglik`` (the block's log-likelihood).
    """
    n_grouped = n_values - n_values % 64
    exponent = 0
    unusual = 0
    for i in range(n_values):
        bits = float64_bits(values[i])
        biased = bits >> 52  # negative for a negative value
        unusual += (biased <= 0) | (biased >= 2047)
        exponent += biased + ((bits & _MANTISSA) > _SQRT2_MANTISSA)
    if unusual:
        total = 0.0
        for i in range(n_values):
            total += np.log(values[i])
        return total
    total = 0.0
    for g in range(0, n_grouped, 64):
        p0 = p1 = p2 = p3 = p4 = p5 = p6 = p7 = 1.0
        for i in range(g, g + 64, 8):
            p0 *= _reduced(float64_bits(values[i]))
            p1 *= _reduced(float64_bits(values[i + 1]))
            p2 *= _reduced(float64_bits(values[i + 2]))
            p3 *= _reduced(float64_bits(values[i + 3]))
            p4 *= _reduced(float64_bits(values[i + 4]))
            p5 *= _reduced(float64_bits(values[i + 5]))
            p6 *= _reduced(float64_bits(values[i + 6]))
            p7 *= _reduced(float64_bits(values[i + 7]))
        total += math.log(((p0 * p1) * (p2 * p3)) * ((p4 * p5) * (p6 * p7)))
    for i in range(n_grouped, n_values):
        total += math.log(_reduced(float64_bits(values[i])))
    n_two = exponent - 1023 * n_values
    return n_two * _LN2_HI + (total + n_two * _LN2_LO)


# exp(r) = 1 + r + r^2 q(r) on |r| <= ln(2)/2, q of degree 9: Chebyshev
# fit of (exp(r) - 1 - r) / r^2 (``asv_benchmarks/exp_polynomial.py``, 50
# digits), relative error 1.6e-17 before rounding to float64 (the degree-12
# Taylor polynomial this replaced: 2.3e-16). Ascending, from r^2.
_EXP_Q = (0.5000000000000001, 0.16666666666666669, 0.041666666666624164,
          0.008333333333330065, 0.0013888888917196719, 0.00019841269863040545,
          2.4801521322368692e-05, 2.7557268480310024e-06, 2.7620075879983367e-07,
          2.5100375832561234e-08)
_Q0, _Q1, _Q2, _Q3, _Q4, _Q5, _Q6, _Q7, _Q8, _Q9 = _EXP_Q


@njit(inline="always", fastmath=FASTMATH, cache=NUMBA_CACHE)
def exp_nonpositive(x):
    """exp(x) for x <= 0, branch-free so that loops over it vectorise.

    Range reduction x = n ln 2 + r with |r| <= ln(2)/2 (ln 2 split in two
    parts), a degree-11 polynomial for exp(r) (``_EXP_Q``: relative error
    2e-17) by Horner's rule, and 2**n added to the result's exponent bits;
    the fast-math flag set may reassociate the reduction, which leaves 2e-15
    relative error on [-50, 0] and 3e-14 near the cutoff. Returns exactly 0
    for x < EXP_CUTOFF, including -inf, and for NaN.
    ``math.exp`` is a scalar libm call in Numba and stops the loop from
    vectorising; this is about five times faster there.

    Every step has a vector instruction on AVX2 as well as AVX-512: ``n``
    stays a float (``math.floor`` would give an int64, whose conversions
    to and from float64 have vector forms only with AVX-512, so that with
    AVX2 whole loops stayed scalar), and the exponent bits come from it
    through int32 (|n| < 1100). Horner's rule takes the fewest
    multiply-adds (11); loops over independent values hide its chain's
    latency. Over 8 x 1024 values, as ``logprob.block_normalize`` runs it,
    one thread of an AMD EPYC (Zen 4), ns per value, AVX-512 / AVX2 code:
    the degree-12 Taylor polynomial by Estrin's scheme, scaled by a
    product, 0.82 / 0.70; this 0.67 / 0.67 (``tests/test_kernels.py``
    checks it against ``np.exp``).
    """
    xc = max(x, EXP_CUTOFF)
    n = np.floor(xc * _LOG2E + 0.5)
    r = (xc - n * _LN2_HI) - n * _LN2_LO
    q = _Q9
    q = q * r + _Q8
    q = q * r + _Q7
    q = q * r + _Q6
    q = q * r + _Q5
    q = q * r + _Q4
    q = q * r + _Q3
    q = q * r + _Q2
    q = q * r + _Q1
    q = q * r + _Q0
    p = (q * r + 1.0) * r + 1.0
    # p is in [0.7, 1.42]: adding n to its exponent (n >= -995 above the
    # cutoff) leaves a normal number, exactly p * 2**n.
    y = _bits_to_float64(float64_bits(p) + (types.int64(types.int32(n)) << 52))
    return y if x >= EXP_CUTOFF else 0.0
