"""User-facing errors.

A `UserError` is bad input that the user can fix: a missing path, a malformed CSV, an unknown name,
an invalid option. The command line prints its message as one line and exits with status 2; every
other exception is a bug and keeps its traceback.
"""


class UserError(Exception):
    """Bad input whose message names the value and what to do about it."""

    exit_status = 2
