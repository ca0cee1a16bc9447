"""The roofline and the per-iteration overhead, as asv entries.

``Roofline.track_*``: fastgmm's EM iterations on the roofline shapes
(``fastgmm.bench.ROOFLINE_SHAPES``, rows scaled down by the 'small'
profile) as fractions of the FMA peak and of the copy bandwidth that
``fastgmm.bench.measure_peaks`` measures in the same process
(``fastgmm bench --roofline``). ``Overhead.time_*``: the stages of one EM
iteration besides the pass kernel (``asv_benchmarks/iteration_overhead.py``
prints them as a table): the pass's driver without its kernel, the M-step,
and an empty parallel region (thread wake-up), for K = 8, d = 2.
"""

import numpy as np

from . import common

ROOFLINE_KEYS = ["a", "b", "c", "d", "e", "f"]
# Rows kept of each roofline shape in the 'small' profile.
_SMALL_SCALE = 0.02


class Roofline:
    """Achieved fractions of the machine's peaks, per roofline shape."""

    params = (ROOFLINE_KEYS,)
    param_names = ["shape"]
    timeout = 600
    unit = "fraction"

    def setup_cache(self):
        from fastgmm import bench

        scale = 1.0 if common.profile() == "large" else _SMALL_SCALE
        peaks = bench.measure_peaks(**({} if scale == 1.0 else dict(
            repeat=5, copy_bytes=64 * 2**20, fma_flops=2e8)))
        rows, _ = bench.run_roofline(ROOFLINE_KEYS, n_iter=common.N_ITER, repeat=3,
                                     scale=scale, peaks=peaks)
        return {r["shape"]: r for r in rows}

    def track_fma_fraction(self, rows, shape):
        return rows[shape]["fma_fraction"]

    def track_copy_fraction(self, rows, shape):
        return rows[shape]["copy_fraction"]


def _empty_prange():
    """A parallel region with nothing to do (compiled at the first call)."""
    from numba import njit, prange

    global _EMPTY_PRANGE
    if _EMPTY_PRANGE is None:
        @njit(parallel=True, nogil=True)
        def empty_prange(out):
            for c in prange(out.shape[0]):
                out[c] = c
        _EMPTY_PRANGE = empty_prange
    return _EMPTY_PRANGE


_EMPTY_PRANGE = None


class Overhead:
    """The serial parts of an EM iteration, K = 8, d = 2, N = 10^4 and 10^5."""

    params = (["full", "diag"], [10_000, 100_000])
    param_names = ["covariance_type", "n_samples"]

    def setup(self, covariance_type, n_samples):
        import warnings

        from fastgmm import GaussianMixture, _covariance, _em
        from fastgmm._config import pass_chunk_size
        from fastgmm._stats import Params, nk_regularization
        from fastgmm.bench import make_data, make_start

        self.em = _em
        self.X = make_data(n_samples, 2, 8)
        with warnings.catch_warnings():
            # three iterations from the bench's start: parameters mid-fit
            warnings.simplefilter("ignore")
            gm = GaussianMixture(8, covariance_type=covariance_type, max_iter=3, tol=0.0,
                                 **make_start(self.X, 8, covariance_type)).fit(self.X)
        self.params_ = Params(gm.weights_, gm.means_, gm.covariances_,
                              gm.precisions_cholesky_)
        self.weight = np.empty(0)
        self.stats = _em.em_pass(self.X, self.weight, self.params_, covariance_type)
        self.nk_reg = nk_regularization(self.stats.sum_weights, n_samples)
        self.model = _covariance.get(covariance_type)
        self.wake = np.empty(-(-n_samples // pass_chunk_size(2)))
        self.empty_prange = _empty_prange()
        self.empty_prange(self.wake)

    def time_pass_driver(self, covariance_type, n_samples):
        # em_pass with a kernel that does nothing: the driver alone
        original = self.model.pass_kernel
        self.model.pass_kernel = lambda n, a, d, t: ((lambda *args: None), original(n, a, d, t)[1])
        try:
            self.em.em_pass(self.X, self.weight, self.params_, covariance_type)
        finally:
            del self.model.pass_kernel

    def time_m_step(self, covariance_type, n_samples):
        self.em.m_step(self.stats, covariance_type, 1e-6, self.nk_reg, False)

    def time_thread_wake_up(self, covariance_type, n_samples):
        self.empty_prange(self.wake)
