"""``fastgmm demo``: EM on the Old Faithful data, step by step (the default command)."""

import argparse
import time

from .. import GaussianMixture
from ..datasets import load_old_faithful
from .arguments import wrap
from .data import check_output_path
from .messages import EXIT_OK, PROG, fit_collecting_warnings, warning
from .plots import plot_demo, require_matplotlib
from .report import format_components


def add_demo(subparsers):
    parser = subparsers.add_parser(
        "demo",
        help="fit the Old Faithful geyser data and show the EM iterations (the default)",
        description=wrap(
            "Fit a 2-component Gaussian mixture (full covariance, random_state=0) to "
            "the Old Faithful geyser data shipped with fastgmm: 272 eruptions, each "
            "with its duration and the waiting time to the next eruption, in minutes. "
            "Prints the mean log-likelihood per sample after each EM iteration, the "
            "fitted components, the BIC and the wall time of the fit."
        ),
        epilog=(
            "examples:\n"
            f"  {PROG} demo\n"
            f"  {PROG} demo --plot faithful.png    also draw the data, the 2-sigma ellipses\n"
            "                                      of the components at iterations 1, 2, 3, 5\n"
            "                                      and the last, and the density contours\n"
            "                                      (needs matplotlib)"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--plot",
        metavar="FILE.png",
        help="save a figure of the EM iterations (any format matplotlib writes: .png, .pdf, .svg)",
    )
    parser.set_defaults(func=_cmd_demo)


def _cmd_demo(args):
    if args.plot:
        require_matplotlib(args.plot)
        check_output_path(args.plot, "--plot")
    X = load_old_faithful()
    params = dict(n_components=2, covariance_type="full", random_state=0)
    print(
        f"Old Faithful geyser: {X.shape[0]} eruptions; eruption duration and waiting "
        "time to the next eruption, in minutes."
    )
    print("Fitting a Gaussian mixture: 2 components, full covariance, random_state=0.")
    print()
    print("  iteration   log-likelihood per sample        change")
    previous = [None]

    def callback(n_iter, lower_bound):
        change = "" if previous[0] is None else f"{lower_bound - previous[0]:14.3e}"
        previous[0] = lower_bound
        print(f"  {n_iter:9d}   {lower_bound:25.6f}{change}", flush=True)
        return False

    model = GaussianMixture(**params, callback=callback)
    start = time.perf_counter()
    for message in fit_collecting_warnings(model, X):
        warning(message)
    elapsed = time.perf_counter() - start
    model.callback = None
    status = "converged" if model.converged_ else "stopped without converging"
    print(f"{status} after {model.n_iter_} iterations (tol {model.tol:g})")
    print()
    print(format_components(model, ["eruption (min)", "waiting (min)"]))
    print()
    print(f"BIC       {model.bic(X):.2f}   (lower is better)")
    print(f"wall time {elapsed:.3f} s   (fit, including the per-iteration printing; the "
          "first run also compiles the kernels, cached on disk for later runs)")
    if args.plot:
        plot_demo(args.plot, X, model, GaussianMixture, params)
        print(f"figure saved to {args.plot}")
    return EXIT_OK
