"""Domain errors; the HTTP layer maps each kind to a 4xx status with a JSON body."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: `code` is a stable machine-readable name, str(self) the human message."""

    code = "domain_error"
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    code = "not_found"
    status = 404


class RunAlreadyCompleted(DomainError):
    code = "run_already_completed"
    status = 409


class InsufficientFunds(DomainError):
    code = "insufficient_funds"
    status = 409
