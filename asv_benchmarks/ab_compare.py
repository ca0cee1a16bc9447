"""Time asv benchmark cases on two checkouts, alternating, and compare medians.

On a shared, noisy machine ``asv continuous`` flags changes of 20-40 % in
both directions, even for code that did not change. This script times the
given cases of this directory's benchmark classes on two checkouts in
alternating processes (old, new, old, new, ...). In each process a case is
timed as the minimum of ``--repeat`` repeats, and the table shows the
median over ``--rounds`` processes per checkout.

Usage::

    python asv_benchmarks/ab_compare.py OLD_CHECKOUT NEW_CHECKOUT [--rounds 4]

Cases are ``kind:params``, with kind ``E`` (``Kernels.time_em_pass``), ``W``
(``Kernels.time_weighted_log_prob``), ``P`` (``PredictProba``) or ``F``
(``Fit.time_fit``), e.g. ``E:full,float32,16,32`` or ``P:full,float64,1``.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import timeit
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))

DEFAULT_CASES = [
    "E:full,float32,16,32", "E:diag,float64,2,32", "E:spherical,float32,2,8",
    "E:tied,float32,16,8", "E:spherical,float32,64,8", "E:tied,float32,64,32",
    "E:full,float32,64,32", "P:full,float64,1", "P:full,float64,100", "F:a,float64",
]


def _parse(case):
    kind, params = case.split(":")
    values = [int(v) if v.isdigit() else v for v in params.split(",")]
    return kind, values


def _time_cases(cases, repeat):
    """In this process: {case: seconds per call} for the checkout on sys.path."""
    sys.path.insert(0, HERE)
    warnings.simplefilter("ignore")
    from benchmarks.bench_fit import Fit
    from benchmarks.bench_kernels import Kernels
    from benchmarks.bench_predict import PredictProba

    out = {}
    for case in cases:
        kind, args = _parse(case)
        if kind == "P":
            bench = PredictProba()
            bench.setup(*args)
            call, number = (lambda: bench.time_predict_proba(*args)), 200
        elif kind == "F":
            bench = Fit()
            bench.setup(*args)
            call, number = (lambda: bench.time_fit(*args)), 2
        else:
            bench = Kernels()
            bench.setup(*args)
            call = bench.time_em_pass if kind == "E" else bench.time_weighted_log_prob
            number = 5
        call()
        out[case] = min(timeit.repeat(call, number=number, repeat=repeat)) / number
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--cases", nargs="+", default=DEFAULT_CASES)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=12)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_time_cases(args.cases, args.repeat)))
        return
    runs = {"old": [], "new": []}
    for _ in range(args.rounds):
        for label in ("old", "new"):
            env = dict(os.environ, PYTHONPATH=os.path.abspath(getattr(args, label)))
            env.pop("OPENBLAS_CORETYPE", None)
            env.pop("OPENBLAS_L2_SIZE", None)
            result = subprocess.run(
                [sys.executable, os.path.abspath(__file__), args.old, args.new, "--child",
                 "--repeat", str(args.repeat), "--cases", *args.cases],
                env=env, check=True, capture_output=True, text=True)
            runs[label].append(json.loads(result.stdout.strip().splitlines()[-1]))
    print(f"| case | {args.old} | {args.new} | ratio |")
    print("|---|---|---|---|")
    for case in args.cases:
        old = statistics.median(run[case] for run in runs["old"])
        new = statistics.median(run[case] for run in runs["new"])
        scale, unit = (1e6, "us") if old < 1e-3 else (1e3, "ms")
        print(f"| {case} | {old * scale:.1f} {unit} | {new * scale:.1f} {unit} | "
              f"{new / old:.2f} |")


if __name__ == "__main__":
    main()
