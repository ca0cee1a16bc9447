"""The ``fastgmm`` command line (also ``python -m fastgmm``).

Each subcommand is a pair of functions in its own module:
``add_<name>(subparsers)`` declares its arguments and sets ``func``, the
function that runs it and returns the exit status. A new subcommand is one
more such pair and one more entry in ``SUBCOMMANDS``.

=================  ==========================================================
module             job
=================  ==========================================================
``demo``           ``fastgmm demo``, the default command
``model``          ``fit``, ``predict``, ``score``, ``info``
``selection``      ``select``
``benchmark``      ``bench``
``arguments``      the parser, argument types, CSV options, the data help
``data``           reading DATA (CSV, ``.npy``, stdin) and matching columns
``_csv``           the CSV parser
``report``         the fitted components as a table
``progress``       the progress bar of ``fit``
``plots``          the demo's figure
``messages``       exit statuses, errors, notes and warnings on stderr
=================  ==========================================================

User mistakes never end in a traceback: they raise ``UsageError`` (exit
status 2) or ``CLIError`` (exit status 1), and ``main`` prints them as one
``fastgmm: error: ...`` line on stderr, as it does for the ``ValueError``
and ``OSError`` of a bad file or bad data.
"""

import argparse
import os
import sys

from .. import __version__
from .arguments import DATA_HELP, Parser
from .benchmark import add_bench
from .demo import add_demo
from .messages import (EXIT_INTERRUPTED, EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, PROG, CLIError,
                       UsageError, error)
from .model import add_fit, add_info, add_predict, add_score
from .selection import add_select

__all__ = ["main", "build_parser", "CLIError", "UsageError"]

MAIN_DESCRIPTION = """\
Fit Gaussian mixture models with the EM algorithm on the CPU, save them as
model files, and use them to label or score new data. fastgmm is a drop-in
for scikit-learn's GaussianMixture; this command line covers the common
cases without writing Python.

Run with no arguments, it runs the demo."""


MAIN_EPILOG = f"""\
{DATA_HELP}

model files:
  MODEL.npz is a NumPy archive of plain arrays (no pickle), written by
  'fastgmm fit' or GaussianMixture.save() and read by fastgmm.load().

exit status:
  0  success
  1  runtime error: missing or unreadable file, bad data, bad model file
  2  usage error: unknown command or option, bad option value

examples:
  fastgmm                                    run the demo
  fastgmm demo --plot faithful.png           the demo, with a figure of the EM steps
  fastgmm fit data.csv -k 3 -o model.npz     fit 3 components, save the model
  fastgmm fit big.npy -k 8 --covariance-type diag --float32 --threads 2 -o m.npz
  fastgmm predict model.npz data.csv         component labels, CSV on stdout
  fastgmm predict model.npz new.npy --proba -o proba.npy
  cat data.csv | fastgmm score model.npz -   mean log-likelihood per sample
  fastgmm info model.npz                     hyper-parameters and fitted parameters
  fastgmm select data.csv -k 1..9            choose K and the covariance type by BIC

Run '{PROG} COMMAND --help' for the options of a command."""


SUBCOMMANDS = (add_demo, add_fit, add_predict, add_score, add_info, add_select, add_bench)


def build_parser():
    """The argument parser of the ``fastgmm`` command.

    Returns
    -------
    parser : argparse.ArgumentParser
        With one subparser per entry of ``SUBCOMMANDS``; each sets
        ``func``, the function that runs it.
    """
    parser = Parser(
        prog=PROG,
        description=MAIN_DESCRIPTION,
        epilog=MAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command")
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv=None):
    """Run the ``fastgmm`` command line.

    Parameters
    ----------
    argv : list of str, optional
        The arguments, without the program name (default: ``sys.argv[1:]``).
        No arguments runs ``demo``.

    Returns
    -------
    status : int
        0 on success, 1 on a runtime error (bad file, bad data), 2 on a
        usage error, 130 when interrupted. Errors are printed as one line
        on stderr.

    Examples
    --------
    >>> main(["--version"])
    fastgmm 0.1.0.dev0
    0
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        argv = ["demo"]
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.error("no command given")
        return args.func(args)
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK if exc.code is None else EXIT_RUNTIME
    except UsageError as exc:
        error(exc)
        return EXIT_USAGE
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            # The reader of stdout went away (``| head``): stop quietly.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return EXIT_RUNTIME
        if exc.filename is not None and exc.strerror:
            error(f"{exc.filename}: {exc.strerror}")
        else:
            error(exc)
        return EXIT_RUNTIME
    except (CLIError, ValueError, MemoryError) as exc:
        error(exc if str(exc) else type(exc).__name__)
        return EXIT_RUNTIME
    except KeyboardInterrupt:
        print(file=sys.stderr)
        error("interrupted")
        return EXIT_INTERRUPTED
