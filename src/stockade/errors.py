"""One error type for users.

Every failure a user can see is a :class:`StockadeError`: it says what went
wrong (``message``) and what to do about it (``hint``), and carries the exit
code the CLI returns.  Only ``cli.py`` turns these into exit codes; library
code raises and never prints.

Exit codes (documented in the README):

* 0  success
* 1  the check ran and found something (scan findings, ledger tampering,
     refused dependencies)
* 2  bad input: arguments, policy file, request, missing files
* 3  the environment cannot do what was asked (missing bubblewrap, state
     directory not writable, a service that is not running)
* 4  internal error: a bug in stockade; nothing was let through
* 130 interrupted
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FOUND = 1
EXIT_USAGE = 2
EXIT_ENVIRONMENT = 3
EXIT_INTERNAL = 4
EXIT_INTERRUPTED = 130


class StockadeError(Exception):
    """Base of every error stockade reports to a user."""

    exit_code: int = EXIT_USAGE

    def __init__(self, message: str, *, hint: str | None = None, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def diagnostic(self) -> str:
        """The text shown to the user: the problem, then what to do."""
        text = f"stockade: error: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class UsageError(StockadeError):
    """Bad command-line arguments or input data."""

    exit_code = EXIT_USAGE


class PolicyError(StockadeError):
    """A policy file is invalid. Names the file, line, key and the fix."""

    exit_code = EXIT_USAGE

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        key: str | None = None,
        hint: str | None = None,
    ):
        self.file = file
        self.line = line
        self.key = key
        where = ""
        if file:
            where = file if line is None else f"{file}:{line}"
        prefix = ": ".join(p for p in (where, key) if p)
        super().__init__(f"{prefix}: {message}" if prefix else message, hint=hint)


class EnvironmentProblem(StockadeError):
    """The machine cannot do what was asked (missing tool, unwritable state)."""

    exit_code = EXIT_ENVIRONMENT


class LedgerError(StockadeError):
    """The ledger cannot be opened or written."""

    exit_code = EXIT_ENVIRONMENT


class LedgerTamperError(StockadeError):
    """Verification found the ledger modified, reordered or truncated."""

    exit_code = EXIT_FOUND

    def __init__(self, message: str, *, seq: int | None = None, hint: str | None = None):
        self.seq = seq
        super().__init__(message, hint=hint)


class InternalError(StockadeError):
    """A bug. Raised where stockade fails closed on an unexpected exception."""

    exit_code = EXIT_INTERNAL
