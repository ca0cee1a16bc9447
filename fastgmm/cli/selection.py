"""``fastgmm select``: the number of components and the covariance type by BIC, AIC or ICL."""

import argparse
import time
import warnings

import numpy as np

from .. import ConvergenceWarning, select_model
from ..exceptions import FitFailedWarning
from .arguments import (COVARIANCE_TYPES, DATA_HELP, add_csv_arguments, csv_options, integer,
                        positive_int, wrap)
from .._covariance import SKLEARN_NAMES
from .data import check_output_path, read_data, usable_names
from .messages import EXIT_OK, PROG, UsageError, one_line, warning


def _k_values(text):
    """``1..10``, ``3``, ``2,4,8`` or a mix (``1..4,8``) as a sorted list of ints."""
    values = set()
    for part in text.split(","):
        low, sep, high = part.strip().partition("..")
        try:
            low = int(low)
            high = int(high) if sep else low
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected K, K1..K2 or a comma-separated list of them, got {text!r}") from None
        if low < 1 or high < low:
            raise argparse.ArgumentTypeError(
                f"expected positive K with K1 <= K2 in K1..K2, got {text!r}")
        values.update(range(low, high + 1))
    return sorted(values)


def _covariance_type_list(text):
    """``all`` or a comma-separated list of covariance types."""
    if text.strip() == "all":
        return list(SKLEARN_NAMES)
    values = [t.strip() for t in text.split(",")]
    unknown = [t for t in values if t not in COVARIANCE_TYPES]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown covariance type {unknown[0]!r}; use all or a comma-separated list "
            f"of {', '.join(COVARIANCE_TYPES)}")
    return list(dict.fromkeys(values))


def add_select(subparsers):
    parser = subparsers.add_parser(
        "select",
        help="choose the number of components and the covariance type by BIC, AIC or ICL",
        description=wrap(
            "Fit a Gaussian mixture to DATA for every number of components in K and "
            "every covariance type, and print a table of the criterion (lower is "
            "better; the best is marked *, a fit that did not converge !) and the "
            "chosen model (fastgmm.select_model). The starts are shared across "
            "covariance types. R's mclust prints BIC with the opposite sign."
        ),
        epilog=(
            f"{DATA_HELP}\n\n"
            "examples:\n"
            f"  {PROG} select data.csv -k 1..9\n"
            f"  {PROG} select data.csv -k 1..6 --covariance-type full,diag --criterion icl\n"
            f"  {PROG} select big.npy -k 2,4,8,16 --n-init 3 --random-state 0 -o best.npz"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("data", metavar="DATA", help="FILE.csv, FILE.npy, or - for CSV on stdin")
    parser.add_argument("-k", "--n-components", metavar="K", type=_k_values,
                        default=_k_values("1..10"),
                        help="numbers of components to try: K, K1..K2 or a comma-separated "
                             "list of them (default: 1..10)")
    parser.add_argument("--covariance-type", metavar="TYPES", type=_covariance_type_list,
                        default=list(SKLEARN_NAMES),
                        help="'all' (full, tied, diag, spherical) or a comma-separated "
                             "list of covariance types, mclust's names included "
                             "(default: all)")
    parser.add_argument("--criterion", choices=("bic", "aic", "icl"), default="bic",
                        help="what to minimise (default: %(default)s)")
    parser.add_argument("--n-init", type=positive_int, default=1, metavar="N",
                        help="initialisations per model, keeping the best (default: %(default)s)")
    parser.add_argument("--random-state", type=integer, default=None, metavar="SEED",
                        help="seed for a reproducible selection (default: a fresh seed each run)")
    parser.add_argument("--threads", type=positive_int, default=None, metavar="N",
                        help="threads to use (default: all cores)")
    parser.add_argument("-o", "--output", metavar="MODEL.npz",
                        help="also save the chosen model (replaced if it exists)")
    add_csv_arguments(parser)
    parser.set_defaults(func=_cmd_select)


def _cmd_select(args):
    if args.output is not None:
        check_output_path(args.output, "-o")
    X, names = read_data(args.data, on_missing="skip", **csv_options(args))
    source = "<stdin>" if args.data == "-" else args.data
    if args.output is not None:
        names = usable_names(names, source)
    if args.n_components[-1] > X.shape[0]:
        raise UsageError(
            f"-k: {args.n_components[-1]} components for {X.shape[0]} samples; "
            "K can be at most the number of samples")
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        selection = select_model(
            X, n_components=args.n_components, covariance_types=args.covariance_type,
            criterion=args.criterion, n_init=args.n_init, random_state=args.random_state,
            n_threads=args.threads,
        )
    elapsed = time.perf_counter() - start
    messages = []
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            continue  # marked ! in the table
        message = one_line(w.message)
        if issubclass(w.category, FitFailedWarning):
            message = message.removeprefix("select_model: ")
        if message not in messages:
            messages.append(message)
    for message in messages:
        warning(message)
    best = selection.best_
    results = selection.results_
    chosen = ((results["n_components"] == best.n_components)
              & (results["covariance_type"] == best.covariance_type))
    value = results[args.criterion][chosen][0]
    print(f"data     {source}: {X.shape[0]} samples x {X.shape[1]} features ({X.dtype})")
    print()
    print(selection)
    print()
    print(f"chosen   {best.n_components} components, {best.covariance_type} covariance "
          f"({args.criterion.upper()} {value:.3f}; n_iter {best.n_iter_}, "
          f"{'converged' if best.converged_ else 'not converged'}, random_state "
          f"{best.random_state})")
    print(f"time     {elapsed:.3f} s for {selection.results_.shape[0]} models")
    if args.output is not None:
        if names is not None:
            best.feature_names_in_ = np.asarray(names, dtype=object)
        best.save(args.output)
        print(f"saved to {args.output}")
    return EXIT_OK
