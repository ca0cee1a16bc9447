"""What the subcommands share in their arguments: the parser, argument types, CSV options, help."""

import argparse
import math
import textwrap

from .._covariance import COVARIANCE_TYPES  # noqa: F401 (the choices of --covariance-type)
from .._mixture import INIT_PARAMS  # noqa: F401 (the choices of --init-params)
from . import _csv
from .messages import UsageError


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, raised as ``UsageError``."""

    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")


DATA_HELP = """\
data files:
  FILE.csv  values separated by ',', ';', tabs or spaces (detected, or
            --delimiter), decimal point '.' (or --decimal ','). The first row
            is a header when it holds no numbers; pass --header when names
            look like numbers, --no-header when the first row is data. A
            file that could be read two ways is refused, naming the option
            that settles it. Columns of text are skipped (noted on stderr);
            a text field in a column of numbers is an error naming its line
            and column. Empty, NA, NaN, N/A, null, None and ? are missing
            values: fit and score skip rows that have one (noted on
            stderr); predict refuses them, naming the line, since its
            output has one row per input row. pandas, when installed, reads
            big files faster (pip install 'fastgmm[cli]').
            fit stores the header's names in the model; predict and score
            then match DATA's header to them: columns in another order are
            reordered by name (noted on stderr), other names are refused,
            and a file without a header is taken in order (noted).
  FILE.npy  a 2-D numeric NumPy array, memory-mapped, not read into memory
            (--float32 on float64 data makes a float32 copy).
  -         CSV on standard input."""


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def nonnegative_int(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text!r}")
    return value


def nonnegative_float(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0.0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"must be a non-negative number, got {text!r}")
    return value


def integer(text):
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None


def wrap(text):
    """A paragraph filled to 79 columns (the help formatter keeps text as is)."""
    return textwrap.fill(text, width=79)


def _delimiter(text):
    value = {"tab": "\t", "\\t": "\t", "space": _csv.WHITESPACE, " ": _csv.WHITESPACE,
             "whitespace": _csv.WHITESPACE}.get(text, text)
    if value not in (",", ";", "\t", "|", ":", _csv.WHITESPACE):
        raise argparse.ArgumentTypeError(
            f"expected ',', ';', tab, '|', ':' or whitespace, got {text!r}")
    return value


def add_csv_arguments(parser):
    group = parser.add_argument_group("CSV options", wrap(
        "How a CSV file is read. Each is detected when not given; a file the detection "
        "cannot settle is refused with a message naming the option to pass."))
    group.add_argument("--delimiter", type=_delimiter, metavar="SEP",
                       help="field separator: ',', ';', tab, '|', ':' or whitespace (runs of "
                            "spaces and tabs) (default: detected among ',', ';', tab, "
                            "whitespace)")
    group.add_argument("--decimal", choices=(".", ","), metavar="MARK",
                       help="decimal mark, '.' or ',' (default: '.'; a column of numbers "
                            "with decimal commas is refused, naming this option)")
    group.add_argument("--header", action=argparse.BooleanOptionalAction, default=None,
                       help="whether the first row holds column names (default: detected: "
                            "a first row without numbers is a header, one whose text is "
                            "only in text columns is data; pass --header for numeric names)")


def csv_options(args):
    """The CSV reading options of a subcommand's parsed arguments."""
    return dict(delimiter=args.delimiter, decimal=args.decimal, header=args.header)
