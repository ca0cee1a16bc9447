"""Peak-RSS rise of a fit on an 8 GiB memory-mapped float32 ``.npy`` file.

Run: ``python asv_benchmarks/memmap_fit.py [--dir DIR] [--gib 8] [--keep]``
(Linux; needs the file's size free in DIR, default the system's temporary
directory). Not an asv benchmark: it writes a file of several GiB.

1. Writes X, 134,217,728 rows x 16 features of float32 (8 GiB) drawn from
   a known mixture of 8 Gaussians, block by block with plain file writes
   (so the writer never maps it).
2. In a fresh process, opens it with ``np.load(mmap_mode='r')``, fits a
   small slice first (compiles the kernels for read-only float32 arrays),
   resets the peak-RSS mark (``/proc/self/clear_refs``), then fits all of
   X: K=8, 'full', 3 EM iterations (``tol=0``) from a fixed start, the
   generating parameters with every mean moved by 0.5 per coordinate
   (``weights_init``, ``means_init``, ``precisions_init``: a k-means start
   would read the 8 GiB a dozen times more). The fit validates X (finite,
   magnitude) and runs the passes, each in segments of
   ``_config.SEGMENT_BYTES`` whose pages are handed back after use.
3. Reports VmHWM - VmRSS(before), the fit's time, and deletes the file
   (unless ``--keep``). ``--no-release`` repeats the fit with the page
   release disabled, for comparison.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

from measure_peak_rss import _status_kib  # the script beside this one

N_FEATURES, N_COMPONENTS, SEED = 16, 8, 0


def mixture():
    """The generating mixture: weights, means and diagonal standard deviations."""
    rng = np.random.default_rng(SEED)
    weights = rng.dirichlet(np.full(N_COMPONENTS, 5.0))
    means = rng.uniform(-10, 10, (N_COMPONENTS, N_FEATURES))
    scales = rng.uniform(0.5, 2.0, (N_COMPONENTS, N_FEATURES))
    return weights, means, scales


def write(path, n_samples, block=1 << 20):
    weights, means, scales = mixture()
    rng = np.random.default_rng(SEED + 1)
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)),
              "fortran_order": False, "shape": (n_samples, N_FEATURES)}
    with open(path, "wb") as f:
        np.lib.format.write_array_header_2_0(f, header)
        for first in range(0, n_samples, block):
            n = min(block, n_samples - first)
            labels = rng.choice(N_COMPONENTS, size=n, p=weights)
            rows = rng.standard_normal((n, N_FEATURES), dtype=np.float32)
            rows *= scales[labels].astype(np.float32)
            rows += means[labels].astype(np.float32)
            rows.tofile(f)


def fit(path, release):
    import warnings

    from fastgmm import GaussianMixture
    from fastgmm import _outofcore

    if not release:
        _outofcore.PageReleaser.release = lambda self, start, stop: None
    X = np.load(path, mmap_mode="r")
    weights, means, scales = mixture()
    start = dict(weights_init=np.full(N_COMPONENTS, 1.0 / N_COMPONENTS),
                 means_init=means + 0.5,
                 precisions_init=np.array([np.diag(1.0 / s**2) for s in scales]))
    params = dict(n_components=N_COMPONENTS, covariance_type="full", tol=0.0, **start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        GaussianMixture(max_iter=1, **params).fit(X[:5000])
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")  # the peak-RSS mark (VmHWM) back to the current RSS
        base = _status_kib("VmRSS")
        tick = time.perf_counter()
        model = GaussianMixture(max_iter=3, **params).fit(X)
        seconds = time.perf_counter() - tick
    peak = _status_kib("VmHWM")
    error = np.abs(np.sort(model.means_, axis=0) - np.sort(means, axis=0)).max()
    print(f"X: {X.shape[0]} x {X.shape[1]} float32, {X.nbytes / 2**30:.2f} GiB, "
          f"memory-mapped; page release {'on' if release else 'off'}\n"
          f"peak RSS rise during the fit: {(peak - base) / 1024:.1f} MiB "
          f"(RSS before: {base / 1024:.1f} MiB)\n"
          f"fit (validation + 3 EM iterations): {seconds:.1f} s; "
          f"largest error of a mean: {error:.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default=tempfile.gettempdir())
    parser.add_argument("--gib", type=float, default=8.0)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--no-release", action="store_true")
    parser.add_argument("--fit", help=argparse.SUPPRESS)
    parser.add_argument("--release", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fit:
        fit(args.fit, bool(args.release))
        return
    n_samples = int(args.gib * 2**30) // (4 * N_FEATURES)
    need = n_samples * N_FEATURES * 4 + 2**30
    free = shutil.disk_usage(args.dir).free
    if free < need:
        sys.exit(f"{args.dir} has {free / 2**30:.1f} GiB free; {need / 2**30:.1f} "
                 "GiB needed. Pass --dir or a smaller --gib.")
    path = os.path.join(args.dir, "fastgmm_memmap_fit.npy")
    try:
        tick = time.perf_counter()
        write(path, n_samples)
        print(f"wrote {path} in {time.perf_counter() - tick:.0f} s")
        for release in [True] + ([False] if args.no_release else []):
            subprocess.run([sys.executable, __file__, "--fit", path,
                            "--release", str(int(release))], check=True)
    finally:
        if not args.keep and os.path.exists(path):
            os.remove(path)


if __name__ == "__main__":
    main()
