"""Time and peak memory of the command line's CSV reader against ``numpy.loadtxt``.

Run from the root of a checkout (the child processes import ``fastgmm``
from the current folder): ``python asv_benchmarks/csv_read.py [--rows
1000000] [--repeat 3] [--methods loadtxt,cli,...]`` (Linux).

Writes random floats (``--rows`` x 3, six decimals, a header line: about
28 MB for a million rows) to a temporary folder, then reads the file with
each method in a fresh Python process: after the imports, the peak-RSS mark
is reset (``/proc/self/clear_refs``) and the figure is the peak RSS during
the read minus the RSS just before, beside the wall time of the read.
Rounds alternate the methods; the table shows medians over ``--repeat``
rounds. Methods:

* ``loadtxt``: ``np.loadtxt(path, delimiter=",", skiprows=1)``, the reference;
* ``cli``: ``fastgmm.cli.data.read_data(path)`` as the command line calls it
  (pandas when installed); run it with ``PYTHONPATH`` on an older checkout
  to measure that checkout's reader;
* ``cli-pandas``, ``cli-numpy``: the reader with each engine;
* ``cli-pandas-missing``, ``cli-numpy-missing``: each engine on the same
  data with one missing value (``NA``) per 1000 rows: pandas reads them as
  NaN and the reference parser reads those lines again; ``loadtxt`` refuses
  them, and the reference parser reads every block.
* ``cli-quoted``: the reader on the same data with the first column quoted
  (``"0.123456"``, as R's ``write.csv`` quotes row names): the csv module
  reads every record.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np

_CHILD = r"""
import sys, time
import numpy as np
from fastgmm.cli import data as cli_data
try:
    import pandas  # noqa: F401  (imported before the mark, as for loadtxt)
except ImportError:
    pass

def status_kib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])

method, path = sys.argv[1], sys.argv[2]
with open("/proc/self/clear_refs", "w") as clear:
    clear.write("5")
base = status_kib("VmRSS")
start = time.perf_counter()
if method == "loadtxt":
    X = np.loadtxt(path, delimiter=",", skiprows=1)
elif method == "cli":
    X, _ = cli_data.read_data(path, notes=False)
else:
    X, _ = cli_data.read_data(path, notes=False, engine=method.split("-")[1])
elapsed = time.perf_counter() - start
peak = status_kib("VmHWM")
print(elapsed, (peak - base) / 1024, X.nbytes / 2**20, X.shape[0])
"""

METHODS = ("loadtxt", "cli", "cli-pandas", "cli-numpy", "cli-pandas-missing",
           "cli-numpy-missing", "cli-quoted")


def _write(path, X, missing_every=None, quoted=False):
    with open(path, "w") as f:
        f.write("a,b,c\n")
        text = np.char.mod("%.6f", X)
        if missing_every:
            text[::missing_every, 1] = "NA"
        if quoted:
            text = text.astype(object)
            text[:, 0] = ['"' + v + '"' for v in text[:, 0]]
        for start in range(0, len(text), 100_000):
            f.writelines(",".join(row) + "\n" for row in text[start:start + 100_000].tolist())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--methods", default=",".join(METHODS))
    args = parser.parse_args()
    methods = args.methods.split(",")
    X = np.random.default_rng(0).random((args.rows, 3))
    with tempfile.TemporaryDirectory() as tmp:
        paths = {kind: os.path.join(tmp, f"{kind}.csv") for kind in ("clean", "missing", "quoted")}
        _write(paths["clean"], X)
        _write(paths["missing"], X, missing_every=1000)
        _write(paths["quoted"], X, quoted=True)
        clean = paths["clean"]
        print(f"{clean}: {os.path.getsize(clean) / 1e6:.1f} MB, {args.rows} x 3 float64 "
              f"({X.nbytes / 2**20:.1f} MiB)")
        results = {m: [] for m in methods}
        for _ in range(args.repeat):
            for method in methods:
                kind = method.rsplit("-", 1)[-1]
                path = paths.get(kind, clean)
                name = method.removesuffix("-" + kind) if kind in paths else method
                out = subprocess.run([sys.executable, "-c", _CHILD, name, path],
                                     capture_output=True, text=True, check=True)
                results[method].append([float(v) for v in out.stdout.split()])
    print(f"{'method':<20}{'time (s)':>10}{'peak RSS rise (MiB)':>22}{'x array':>9}{'rows':>10}")
    for method, runs in results.items():
        elapsed, rss, array, rows = (statistics.median(r[i] for r in runs) for i in range(4))
        print(f"{method:<20}{elapsed:>10.2f}{rss:>22.1f}{rss / array:>9.2f}{int(rows):>10}")


if __name__ == "__main__":
    main()
