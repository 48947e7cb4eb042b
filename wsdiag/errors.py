"""Errors that the CLI turns into one red line and exit code 2 (or 1 for a halted run)."""


class WsdiagError(Exception):
    """A user-facing error: bad input, a missing file, an incompatible checkpoint."""

    exit_code = 2


class NonFiniteError(WsdiagError):
    """Training produced NaN or inf; the run stopped and kept its last good checkpoint."""

    exit_code = 1
