"""Small scalar helpers inlined into the kernels."""

import math
import struct

from llvmlite import ir
from numba import config, njit, types
from numba.extending import intrinsic

from .._config import FASTMATH, NUMBA_CACHE

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


if config.DISABLE_JIT:
    # NUMBA_DISABLE_JIT=1 runs the kernels as Python (for coverage and
    # debugging), where an intrinsic cannot run.
    def _bits_to_float64(bits):  # noqa: F811
        return struct.unpack("<d", struct.pack("<q", int(bits)))[0]


@njit(inline="always", fastmath=FASTMATH, cache=NUMBA_CACHE)
def exp_nonpositive(x):
    """exp(x) for x <= 0, branch-free so that loops over it vectorise.

    Range reduction x = n ln 2 + r with |r| <= ln(2)/2 (ln 2 split in two
    parts), a degree-12 Taylor polynomial for exp(r) (truncation error below
    2e-16 relative) and 2**n built from its exponent bits; the fast-math flag
    set may reassociate the reduction, which leaves 2e-15 relative error on
    [-50, 0] and 3e-14 near the cutoff. Returns exactly 0 for
    x < EXP_CUTOFF, including -inf.
    ``math.exp`` is a scalar libm call in Numba and stops the loop from
    vectorising; this is about four times faster there.
    """
    xc = max(x, EXP_CUTOFF)
    n = math.floor(xc * _LOG2E + 0.5)
    r = (xc - n * _LN2_HI) - n * _LN2_LO
    p = 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    scale = _bits_to_float64((types.int64(n) + 1023) << 52)
    return p * scale if x >= EXP_CUTOFF else 0.0
