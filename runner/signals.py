"""SIGINT and SIGTERM stop a run cleanly instead of killing it.

While `handle_signals()` is active, either signal raises :class:`Interrupt` in
the main thread (a KeyboardInterrupt, so psycopg cancels a query the main
thread is waiting for). The executor catches it, cancels the tenants in
flight and reports them; the CLI exits with 128 + the signal number (130 for
SIGINT, 143 for SIGTERM).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

_received: list[int] = []


class Interrupt(KeyboardInterrupt):
    """A stop signal arrived; `signum` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise(signum: int, _frame: FrameType | None) -> None:
    first = not _received
    _received.append(signum)
    if first:  # a second signal while stopping must not interrupt the cleanup
        raise Interrupt(signum)


@contextmanager
def handle_signals() -> Iterator[None]:
    """Within: SIGINT/SIGTERM raise Interrupt once; the previous handlers come back after."""
    _received.clear()
    previous = {s: signal.signal(s, _raise) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def received() -> int | None:
    """The first stop signal of the current run, or None."""
    return _received[0] if _received else None


def exit_code(signum: int) -> int:
    """The shell's convention: 128 + signal number (130 SIGINT, 143 SIGTERM)."""
    return 128 + signum
