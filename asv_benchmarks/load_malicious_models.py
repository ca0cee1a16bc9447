"""Time and peak RSS of loading the hostile model files of the reliability issue.

Run: ``python asv_benchmarks/load_malicious_models.py`` (Linux; writes about
10 MB of files to a temporary directory). The files, built by
``tests/crafted_models.py`` from a 2-component model of Old Faithful:

* ``extra_member``: a member the format does not define, 2.24 GB of zeros
  deflated into 2.2 MB;
* ``long_lower_bounds``: ``lower_bounds_`` of 2e7 entries (and ``n_iter_`` to
  match) deflated into 0.15 MB;
* ``huge_shape``: a ``lower_bounds_`` header declaring shape (1e12,);
* ``legal_shapes_bomb``: every fitted array of the shape that
  ``n_features_in_ = 4096`` allows (full covariance, 2 components), zeros:
  0.8 GB deflated into 0.8 MB.

Each file is loaded in a fresh process after a warm-up load of the good
model (so imports are not counted); the figures are the wall time of
``fastgmm.load`` and the rise of the peak RSS (``VmHWM``) over the warm-up.
"""

import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))

from crafted_models import (  # noqa: E402
    deflated_zeros,
    model_members,
    npy_bytes,
    npy_header,
    replace,
    stored,
    write_zip,
)

MIB = 1 << 20
FITTED = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_")
CHILD = r"""
import json, sys, time
import fastgmm

def kib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])

fastgmm.load(sys.argv[1])
base = kib("VmHWM")
started = time.perf_counter()
try:
    fastgmm.load(sys.argv[2])
    outcome = "loaded"
except BaseException as exc:
    outcome = f"{type(exc).__name__}: {exc}"
seconds = time.perf_counter() - started
print(json.dumps([outcome, seconds, (kib("VmHWM") - base) / 1024]))
"""


def build(directory):
    from fastgmm import GaussianMixture
    from fastgmm.datasets import load_old_faithful

    good = os.path.join(directory, "good.npz")
    GaussianMixture(n_components=2, random_state=0).fit(load_old_faithful()).save(good)
    with np.load(good) as archive:
        members = model_members({key: archive[key] for key in archive.files})
    files = {}
    files["extra_member"] = write_zip(os.path.join(directory, "extra.npz"), members + [
        deflated_zeros("junk.npy", b"", 2_240_000_000)])
    n_bounds = 20_000_000
    files["long_lower_bounds"] = write_zip(os.path.join(directory, "bounds.npz"), replace(
        replace(members, stored("n_iter_.npy", npy_bytes(np.int64(n_bounds)))),
        deflated_zeros("lower_bounds_.npy", npy_header((n_bounds,), "<f8"), 8 * n_bounds)))
    files["huge_shape"] = write_zip(os.path.join(directory, "huge.npz"), replace(
        members, stored("lower_bounds_.npy", npy_header((10**12,), "<f8") + bytes(64))))
    n_features = 4096
    bomb = [m for m in members if m.name not in {f"{k}.npy" for k in FITTED}]
    bomb = replace(bomb, stored("n_features_in_.npy", npy_bytes(np.int64(n_features))))
    for key, shape in [("weights_", (2,)), ("means_", (2, n_features)),
                       ("covariances_", (2, n_features, n_features)),
                       ("precisions_", (2, n_features, n_features)),
                       ("precisions_cholesky_", (2, n_features, n_features))]:
        bomb.append(deflated_zeros(f"{key}.npy", npy_header(shape, "<f8"),
                                   8 * int(np.prod(shape))))
    files["legal_shapes_bomb"] = write_zip(os.path.join(directory, "bomb.npz"), bomb)
    return good, files


def main():
    with tempfile.TemporaryDirectory() as directory:
        good, files = build(directory)
        print(f"{'file':<20} {'size MB':>8} {'load ms':>9} {'peak RSS rise MiB':>18}  outcome")
        for name, path in files.items():
            # cwd: the fastgmm on PYTHONPATH is imported, not one in the current directory.
            result = subprocess.run([sys.executable, "-c", CHILD, good, path],
                                    capture_output=True, text=True, cwd=directory)
            if result.returncode != 0:
                print(f"{name:<20} child failed: {result.stderr.strip().splitlines()[-1]}")
                continue
            outcome, seconds, rise = json.loads(result.stdout)
            outcome = outcome.replace(path, "FILE")
            size = os.path.getsize(path) / 1e6
            print(f"{name:<20} {size:8.2f} {seconds * 1e3:9.1f} {rise:18.1f}  {outcome[:200]}")


if __name__ == "__main__":
    main()
