"""NearStore's exceptions: one class per engine error kind, all deriving from `Error`.

Each also derives from the closest built-in exception, so generic handlers work too:
`InvalidArgument` is a `ValueError`, `NotFound` a `LookupError`, `Io` an `OSError`,
`Cancelled` a `TimeoutError`, `Unsupported` a `NotImplementedError` (and an
`InvalidArgument`), `Closed` a `ValueError` (like I/O on a closed file).
"""

from __future__ import annotations

__all__ = [
    "Error",
    "InvalidArgument",
    "Unsupported",
    "NotFound",
    "AlreadyExists",
    "Conflict",
    "Corruption",
    "Io",
    "ResourceExhausted",
    "Cancelled",
    "Internal",
    "Closed",
    "Overloaded",
]


class Error(Exception):
    """Base class of every NearStore error. `kind` names the engine's error kind."""

    kind = "Error"


class InvalidArgument(Error, ValueError):
    """The caller's input is wrong: dimension, value, name, option, filter, query syntax."""

    kind = "InvalidArgument"


class Unsupported(InvalidArgument, NotImplementedError):
    """A feature this version of the engine does not have yet (full-text, sparse, hybrid)."""

    kind = "Unsupported"


class NotFound(Error, LookupError):
    """Something named does not exist (a collection, or one dropped while a handle was held)."""

    kind = "NotFound"


class AlreadyExists(Error):
    """Something to be created exists already (a collection; a point for SQL INSERT)."""

    kind = "AlreadyExists"


class Conflict(Error):
    """The operation conflicts with the current state (a directory another process holds open,
    a collection that refuses writes after an I/O failure until the database is reopened)."""

    kind = "Conflict"


class Corruption(Error):
    """Data on disk is damaged; the message names the file and what is wrong."""

    kind = "Corruption"


class Io(Error, OSError):
    """The operating system failed an I/O operation."""

    kind = "Io"


class ResourceExhausted(Error):
    """A limit was hit: disk space, memory, payload size."""

    kind = "ResourceExhausted"


class Cancelled(Error, TimeoutError):
    """The operation was cancelled (a query past its timeout)."""

    kind = "Cancelled"


class Internal(Error):
    """A bug in NearStore: an invariant did not hold. Please report it."""

    kind = "Internal"


class Closed(Error, ValueError):
    """The database (or the database of this collection handle) was closed."""

    kind = "Closed"


class Overloaded(Error):
    """A streamed write did not fit the collection's streaming queue: nothing of it was
    written. Retry after `retry_after` seconds (the queue drains in the background)."""

    kind = "Overloaded"
    retry_after: float = 0.0
