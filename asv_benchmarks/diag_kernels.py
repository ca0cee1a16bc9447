"""The 'diag' kernels on K x d values against the numpy expressions they replaced.

Run: ``python asv_benchmarks/diag_kernels.py`` (median of 40 calls, ms,
side by side in one process). The numpy lines are the expressions of
``_covariance.Diag`` and ``_blocked.em_pass_diag`` before
``fastgmm/_kernels/diag.py`` (the "block" lines: before its block kernels,
on 512 float32 rows); asv's ``bench_kernels.DiagMStep`` and
``DiagPassBlock`` time the kernels alone.
"""

import numpy as np
from large_d_profile import median_ms  # the script beside this one

from fastgmm import _covariance
from fastgmm._kernels import diag as kernels

REPEAT = 40


class _Stats:
    def __init__(self, sxx, sx, nk):
        self.sxx, self.sx, self.nk = sxx, sx, nk


def compare(n_features, n_components, rng):
    d, shape = n_features, (n_components, n_features)
    model = _covariance.get("diag")
    means = rng.standard_normal(shape)
    sx = rng.standard_normal(shape)
    sxx = 1.0 + rng.random(shape) * d
    nk = np.full(n_components, float(d))
    delta = sx / nk[:, None]
    cov = sxx / nk[:, None]
    prec = 1.0 / np.sqrt(cov)
    const = rng.standard_normal(n_components)
    centre = means.mean(axis=0).astype(np.float32)
    moments = rng.standard_normal((n_components, 2 * d))
    offsets = np.empty(shape)
    coef = np.empty((n_components, 2 * d), np.float32)
    const_c = np.empty(n_components)

    def numpy_covariances():
        return (sxx - 2 * sx * delta + nk[:, None] * delta**2) / nk[:, None] + 1e-6

    def numpy_precision_cholesky():
        with np.errstate(invalid="ignore", divide="ignore"):
            ok = (cov > 0.0) & np.isfinite(cov)
            return 1.0 / np.sqrt(np.where(ok, cov, np.nan)), ~ok.all(axis=1)

    def numpy_coefficients():
        u = np.subtract(means, centre, dtype=np.float64)
        precisions = np.square(prec)
        c = np.empty((n_components, 2 * d), np.float32)
        np.multiply(precisions, u, out=c[:, :d], casting="same_kind")
        np.multiply(precisions, -0.5, out=c[:, d:], casting="same_kind")
        return const - 0.5 * np.einsum("kd,kd,kd->k", precisions, u, u)

    def numpy_conclusion():
        sx_, sxx_, m = sx.copy(), sxx.copy(), moments.copy()
        a, b = m[:, :d], m[:, d:]
        sxx_ += b
        np.multiply(nk[:, None], offsets, out=b)
        sx_ += a
        sx_ -= b
        b *= 0.5
        np.subtract(a, b, out=b)
        b *= offsets
        b *= 2.0
        sxx_ -= b

    def kernel_conclusion():
        # The same three copies as numpy's (which overwrites the moments).
        kernels.centred_from_shifted(moments.copy(), nk, offsets, sx.copy(), sxx.copy())

    return [
        ("covariances", numpy_covariances,
         lambda: model.covariances_from_stats(_Stats(sxx, sx, nk), None, delta, nk, 1e-6, 0.0)),
        ("precision factors", numpy_precision_cholesky, lambda: model.precision_cholesky(cov)),
        ("log-determinants", lambda: np.log(prec).sum(axis=1),
         lambda: model.log_det_cholesky(prec, d)),
        ("pass coefficients", numpy_coefficients,
         lambda: kernels.gemm_coefficients(means, prec, centre, const, offsets, coef, const_c)),
        ("pass conclusion (3 copies)", numpy_conclusion, kernel_conclusion),
    ]


def compare_blocks(n_features, rng):
    """A block of 512 float32 rows made ready for the large-d pass's GEMMs:
    the numpy of ``_blocked.em_pass_diag`` before the block kernels."""
    Xb = rng.standard_normal((512, n_features)).astype(np.float32)
    centre = Xb.mean(axis=0).astype(np.float32)
    d = n_features
    Z = np.empty((512, 2 * d), np.float32)
    Y = np.empty((512, d), np.float32)
    squares = np.empty(512)

    def numpy_diag():
        out = np.empty((512, 2 * d), np.float32)
        y = np.subtract(Xb, centre, out=out[:, :d])
        np.multiply(y, y, out=out[:, d:])

    def numpy_spherical():
        out = np.empty((512, 2 * d), np.float32)
        y = np.subtract(Xb, centre, out=out[:, :d])
        np.einsum("ij,ij->i", y, y, dtype=np.float64)

    return [
        ("block [Y | Y^2] ('diag')", numpy_diag, lambda: kernels.shifted_rows(Xb, centre, Z)),
        ("block Y, |y|^2 ('spherical')", numpy_spherical,
         lambda: kernels.shifted_rows_norms(Xb, centre, Y, squares)),
    ]


def main():
    rng = np.random.default_rng(0)
    print("| d | K | step | numpy ms | kernel ms | ratio |")
    print("| --- | --- | --- | --- | --- | --- |")
    for n_features, n_components in ((64, 32), (512, 64), (2048, 256)):
        steps = compare(n_features, n_components, rng) + [
            (name + ", 512 rows", before, after)
            for name, before, after in compare_blocks(n_features, rng)]
        for name, before, after in steps:
            before(), after()  # compiled, and their pages touched, outside the timing
            a, b = median_ms(before, REPEAT), median_ms(after, REPEAT)
            print(f"| {n_features} | {n_components} | {name} | {a:.3f} | {b:.3f} | {a / b:.1f}x |")


if __name__ == "__main__":
    main()
