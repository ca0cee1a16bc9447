"""``fastgmm fit``, ``predict``, ``score`` and ``info``: the commands that write or read a model file."""

import argparse
import os
import sys
import time

import numpy as np

from .. import BayesianGaussianMixture, GaussianMixture, load
from .arguments import (COVARIANCE_TYPES, DATA_HELP, INIT_PARAMS, add_csv_arguments, csv_options,
                        integer, nonnegative_float, nonnegative_int, positive_int, wrap)
from .data import (check_data_path, check_output_path, columns_checked, match_columns, read_data,
                   usable_names)
from .messages import EXIT_OK, PROG, UsageError, fit_collecting_warnings, warning
from .progress import ProgressBar
from .report import format_components


def _file_versions(path):
    """``(format_version, fastgmm_version)`` of a model file that :func:`fastgmm.load` accepted.

    fastgmm has no public reader of a model file's metadata, so these two
    entries, required by the file format (version 1), are read here,
    without pickle.
    """
    with np.load(path, allow_pickle=False) as archive:
        return int(archive["format_version"]), str(archive["fastgmm_version"])


# ---------------------------------------------------------------------------
# fit


def add_fit(subparsers):
    parser = subparsers.add_parser(
        "fit",
        help="fit a mixture to a data file and save the model",
        description=wrap(
            "Fit a Gaussian mixture with K components to DATA by EM and save it to "
            "MODEL.npz. Prints a summary: iterations, convergence, lower bound "
            "(mean log-likelihood per sample) and BIC. On a terminal, a progress "
            "bar on stderr follows fits that take longer than half a second."
        ),
        epilog=(
            f"{DATA_HELP}\n\n"
            "examples:\n"
            f"  {PROG} fit data.csv -k 3 -o model.npz\n"
            f"  {PROG} fit data.csv -k 3 --n-init 5 --random-state 0 -o model.npz\n"
            f"  {PROG} fit big.npy -k 16 --covariance-type diag --float32 --threads 2 -o big.npz\n"
            f"  generate_data | {PROG} fit - -k 2 --quiet -o model.npz\n"
            f"  {PROG} fit data.csv -k 10 --bayesian --weight-concentration-prior 0.01 -o vb.npz"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("data", metavar="DATA", help="FILE.csv, FILE.npy, or - for CSV on stdin")
    parser.add_argument("-k", "--n-components", metavar="K", type=positive_int, required=True,
                        help="number of mixture components")
    parser.add_argument("-o", "--output", metavar="MODEL.npz", required=True,
                        help="model file to write (replaced if it exists)")
    parser.add_argument("--covariance-type", choices=COVARIANCE_TYPES, default="full",
                        help="form of the component covariances (default: %(default)s)")
    parser.add_argument("--max-iter", type=nonnegative_int, default=100, metavar="N",
                        help="most EM iterations per initialisation (default: %(default)s)")
    parser.add_argument("--tol", type=nonnegative_float, default=1e-3,
                        help="stop when the lower bound gains less than this (default: %(default)s)")
    parser.add_argument("--n-init", type=positive_int, default=1, metavar="N",
                        help="initialisations to try, keeping the best (default: %(default)s)")
    parser.add_argument("--init-params", choices=INIT_PARAMS, default="kmeans",
                        help="how to initialise (default: %(default)s)")
    parser.add_argument("--random-state", type=integer, default=None, metavar="SEED",
                        help="seed for a reproducible fit (default: a fresh seed each run)")
    parser.add_argument("--threads", type=positive_int, default=None, metavar="N",
                        help="threads to use (default: all cores)")
    parser.add_argument("--float32", action="store_true",
                        help="fit in single precision: half the memory, faster")
    parser.add_argument("--nan-policy", choices=("omit", "marginalize", "raise"),
                        default="omit",
                        help="rows with missing values (empty fields, NA, ...): omit them "
                             "(noted), marginalize them (EM for incomplete data; the model "
                             "then also predicts and scores such rows), or raise an error "
                             "(default: %(default)s)")
    parser.add_argument("--bayesian", action="store_true",
                        help="fit a variational Bayesian mixture (BayesianGaussianMixture): "
                             "K is an upper bound, unneeded components get weights near 0")
    parser.add_argument("--weight-concentration-prior", type=float, default=None,
                        metavar="GAMMA",
                        help="with --bayesian: concentration of the weight prior; smaller "
                             "values switch off more components (default: 1/K)")
    parser.add_argument("--weight-concentration-prior-type",
                        choices=("dirichlet_process", "dirichlet_distribution"),
                        default="dirichlet_process",
                        help="with --bayesian: the weight prior (default: %(default)s)")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print nothing but errors and warnings: no summary, notes or progress bar")
    add_csv_arguments(parser)
    parser.set_defaults(func=_cmd_fit)


def _cmd_fit(args):
    check_output_path(args.output, "-o")
    on_missing = {"omit": "skip", "marginalize": "keep", "raise": "error"}[args.nan_policy]
    X, names = read_data(args.data, on_missing=on_missing, float32=args.float32,
                         notes=not args.quiet, **csv_options(args))
    source = "<stdin>" if args.data == "-" else args.data
    names = usable_names(names, source, notes=not args.quiet)
    progress = None
    if not args.quiet and sys.stderr.isatty():
        progress = ProgressBar(sys.stderr, args.max_iter, args.n_init)
    # The estimator's own options: the variational mixture has no nan_policy.
    own = {"nan_policy": "marginalize" if args.nan_policy == "marginalize" else "raise"}
    if args.bayesian:
        if args.nan_policy == "marginalize":
            raise UsageError("--nan-policy marginalize does not go with --bayesian; "
                             "use omit")
        if args.weight_concentration_prior is not None and not (
                args.weight_concentration_prior > 0):
            raise UsageError("--weight-concentration-prior must be positive, got "
                             f"{args.weight_concentration_prior}")
        own = dict(weight_concentration_prior=args.weight_concentration_prior,
                   weight_concentration_prior_type=args.weight_concentration_prior_type)
    elif (args.weight_concentration_prior is not None
          or args.weight_concentration_prior_type != "dirichlet_process"):
        raise UsageError("--weight-concentration-prior and --weight-concentration-prior-type "
                         "go with --bayesian")
    model = (BayesianGaussianMixture if args.bayesian else GaussianMixture)(
        **own,
        n_components=args.n_components,
        covariance_type=args.covariance_type,
        tol=args.tol,
        max_iter=args.max_iter,
        n_init=args.n_init,
        init_params=args.init_params,
        random_state=args.random_state,
        n_threads=args.threads,
        callback=progress,
    )
    start = time.perf_counter()
    try:
        messages = fit_collecting_warnings(model, X)
    finally:
        if progress is not None:
            progress.close()
    elapsed = time.perf_counter() - start
    for message in messages:
        warning(message)
    model.callback = None
    bic = None if args.quiet or args.bayesian else model.bic(X)
    if names is not None:
        # The header's names, checked by predict and score (scikit-learn's
        # feature_names_in_, stored in the model file).
        model.feature_names_in_ = np.asarray(names, dtype=object)
    model.save(args.output)
    if not args.quiet:
        print(f"data         {source}: {X.shape[0]} samples x {X.shape[1]} features ({X.dtype})")
        print(f"model        {model.n_components} components, {model.covariance_type} covariance")
        print(f"n_iter       {model.n_iter_}")
        print(f"converged    {'yes' if model.converged_ else 'no'}")
        if args.bayesian:
            print(f"lower bound  {model.lower_bound_:.6f} (variational lower bound, total)")
            print(f"components   {int(np.sum(model.weights_ > 0.01))} of "
                  f"{model.n_components} above 1% weight")
        else:
            print(f"lower bound  {model.lower_bound_:.6f} (mean log-likelihood per sample)")
            print(f"BIC          {bic:.6g}")
        print(f"wall time    {elapsed:.3f} s")
        print(f"saved to     {args.output}")
    return EXIT_OK


# ---------------------------------------------------------------------------
# predict


def add_predict(subparsers):
    parser = subparsers.add_parser(
        "predict",
        help="label data with a saved model (or give component probabilities)",
        description=wrap(
            "Write the most likely component (0 to K-1) of each row of DATA under the "
            "model in MODEL.npz, or with --proba the probability of each component, "
            "one output row per input row. CSV output has a header line: 'label', or "
            "'proba_0,...,proba_<K-1>'."
        ),
        epilog=(
            f"{DATA_HELP}\n\n"
            "examples:\n"
            f"  {PROG} predict model.npz data.csv               labels, CSV on stdout\n"
            f"  {PROG} predict model.npz data.csv -o labels.npy\n"
            f"  {PROG} predict model.npz new.npy --proba -o proba.csv"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", metavar="MODEL.npz", help="model file written by 'fastgmm fit'")
    parser.add_argument("data", metavar="DATA", help="FILE.csv, FILE.npy, or - for CSV on stdin")
    parser.add_argument("--proba", action="store_true",
                        help="write component probabilities instead of labels")
    parser.add_argument("-o", "--output", metavar="OUT.csv|OUT.npy",
                        help="file to write (default: CSV on stdout)")
    add_csv_arguments(parser)
    parser.set_defaults(func=_cmd_predict)


def _write_csv(stream, header, values):
    stream.write(",".join(header) + "\n")
    if values.ndim == 1:
        stream.writelines(f"{v}\n" for v in values.tolist())
    else:
        stream.writelines(",".join(map(repr, row)) + "\n" for row in values.tolist())


def _cmd_predict(args):
    if args.output is not None:
        suffix = os.path.splitext(args.output)[1].lower()
        if suffix not in (".csv", ".npy"):
            raise UsageError(f"-o {args.output}: unsupported output file type {suffix or '(none)'!r}; use .csv or .npy")
        check_output_path(args.output, "-o")
    check_data_path(args.data)
    model = load(args.model)
    # A model fitted with --nan-policy marginalize predicts rows with missing values.
    on_missing = "keep" if getattr(model, "nan_policy", "raise") == "marginalize" else "error"
    X, names = read_data(args.data, on_missing=on_missing, **csv_options(args))
    X = match_columns(model, X, names, args.model, args.data)
    with columns_checked():
        if args.proba:
            values = model.predict_proba(X)
            header = [f"proba_{k}" for k in range(values.shape[1])]
        else:
            values = np.asarray(model.predict(X), dtype=np.int64)
            header = ["label"]
    if args.output is None:
        _write_csv(sys.stdout, header, values)
    elif args.output.lower().endswith(".npy"):
        np.save(args.output, values, allow_pickle=False)
    else:
        with open(args.output, "w", newline="") as f:
            _write_csv(f, header, values)
    return EXIT_OK


# ---------------------------------------------------------------------------
# score


def add_score(subparsers):
    parser = subparsers.add_parser(
        "score",
        help="mean log-likelihood of data under a saved model",
        description=wrap(
            "Print the mean log-likelihood per sample of DATA under the model in "
            "MODEL.npz (GaussianMixture.score), a single number."
        ),
        epilog=(
            f"{DATA_HELP}\n\n"
            "examples:\n"
            f"  {PROG} score model.npz test.csv\n"
            f"  cat test.csv | {PROG} score model.npz -"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", metavar="MODEL.npz", help="model file written by 'fastgmm fit'")
    parser.add_argument("data", metavar="DATA", help="FILE.csv, FILE.npy, or - for CSV on stdin")
    add_csv_arguments(parser)
    parser.set_defaults(func=_cmd_score)


def _cmd_score(args):
    check_data_path(args.data)
    model = load(args.model)
    on_missing = "keep" if getattr(model, "nan_policy", "raise") == "marginalize" else "skip"
    X, names = read_data(args.data, on_missing=on_missing, **csv_options(args))
    X = match_columns(model, X, names, args.model, args.data)
    with columns_checked():
        score = model.score(X)
    print(repr(float(score)))
    return EXIT_OK


# ---------------------------------------------------------------------------
# info


def add_info(subparsers):
    parser = subparsers.add_parser(
        "info",
        help="show a saved model's hyper-parameters and fitted parameters",
        description=wrap(
            "Print what MODEL.npz holds: the file format version and the fastgmm "
            "version that wrote it, the hyper-parameters, the fit (iterations, "
            "convergence, lower bound) and each component's weight, mean and "
            "covariance."
        ),
        epilog=f"example:\n  {PROG} info model.npz",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", metavar="MODEL.npz", help="model file written by 'fastgmm fit'")
    parser.set_defaults(func=_cmd_info)


def _cmd_info(args):
    model = load(args.model)
    format_version, fastgmm_version = _file_versions(args.model)
    print(f"model file   {args.model}")
    print(f"format       version {format_version}, written by fastgmm {fastgmm_version}")
    print(f"estimator    {type(model).__name__}")
    print()
    print("hyper-parameters")
    params = model.get_params(deep=False)
    width = max(len(name) for name in params)
    for name, value in sorted(params.items()):
        if isinstance(value, np.ndarray):
            value = f"array of shape {value.shape}"
        print(f"  {name:<{width}}  {value}")
    print()
    print("fit")
    n_components, n_features = model.means_.shape
    print(f"  n_features_in_  {n_features}")
    print(f"  dtype           {model.means_.dtype}")
    print(f"  converged_      {model.converged_}")
    print(f"  n_iter_         {model.n_iter_}")
    if isinstance(model, BayesianGaussianMixture):
        print(f"  lower_bound_    {model.lower_bound_:.6f} (variational lower bound, total)")
    else:
        print(f"  lower_bound_    {model.lower_bound_:.6f} (mean log-likelihood per sample)")
    print()
    names = list(getattr(model, "feature_names_in_", [])) or None
    print(format_components(model, names))
    return EXIT_OK
