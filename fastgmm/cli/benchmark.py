"""``fastgmm bench``: time EM iterations against scikit-learn (``fastgmm.bench``)."""

from .. import bench


def add_bench(subparsers):
    parser = subparsers.add_parser(
        "bench", help="time EM iterations against scikit-learn",
        description="Time per EM iteration of fastgmm against the installed peers "
                    "(scikit-learn), from the same start with a fixed number of "
                    "iterations. Prints the median ms per iteration, the ratio to "
                    "fastgmm's time, and how far each final lower bound is from "
                    "fastgmm's (a check that the same computation was timed). "
                    "Shapes: a = N 1e6, d 2, K 8, full; b = N 2e5, d 16, K 16, full; "
                    "c = N 1e5, d 64, K 32, diag. With --roofline: the machine's FMA "
                    "peak and copy bandwidth, measured in the same run, and fastgmm's "
                    "GFLOP/s and GB/s per shape as fractions of them (shapes a to f).",
    )
    bench.add_arguments(parser)
    parser.set_defaults(func=_cmd_bench)


def _cmd_bench(args):
    return bench.run_from_args(args)
