"""The one error a search or tail raises: an HTTP status, a machine-readable code and a message."""

from __future__ import annotations


class QueryError(ValueError):
    """``details`` names a limit and its value when one was exceeded (``query_max_terms=100``)."""

    def __init__(self, status: int, code: str, message: str, details: str = ""):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details
