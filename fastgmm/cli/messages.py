"""How the command line ends and what it says on stderr.

User mistakes never end in a traceback: they raise :class:`UsageError`
(exit status 2) or :class:`CLIError` (exit status 1), which ``main`` prints
as one ``fastgmm: error: ...`` line. Notes and warnings are one line too.
"""

import sys
import warnings

PROG = "fastgmm"

EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """A mistake in the command line itself: exit status 2."""


class CLIError(Exception):
    """A mistake found while running (bad file, bad data): exit status 1."""


def one_line(message):
    """`message` as text on one line, runs of whitespace made one space."""
    return " ".join(str(message).split())


def note(message):
    print(f"{PROG}: note: {one_line(message)}", file=sys.stderr)


def warning(message):
    print(f"{PROG}: warning: {one_line(message)}", file=sys.stderr)


def error(message):
    print(f"{PROG}: error: {one_line(message)}", file=sys.stderr)


def fit_collecting_warnings(model, X):
    """Fit `model`; return its warnings (non-convergence) as distinct messages."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X)
    messages = []
    for w in caught:
        message = one_line(w.message)
        if message not in messages:
            messages.append(message)
    return messages
