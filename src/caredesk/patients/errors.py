"""Coded errors of the patients app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from caredesk.core.errors import Conflict, DomainError, NotFound, ValidationFailed

if TYPE_CHECKING:
    from .models import Patient


class PatientNotFound(NotFound):
    code = "patient_not_found"


class DuplicateSuspected(Conflict):
    """Registration found likely duplicates; the caller shows them and may confirm to create anyway."""

    code = "duplicate_suspected"

    def __init__(self, candidates: list[Patient]) -> None:
        super().__init__(
            f"{len(candidates)} existing patient(s) look like the same person. Review them, "
            "or confirm that this is a different person.",
            details={"candidates": [c.pk for c in candidates]},
        )
        self.candidates = candidates


class StaleVersion(Conflict):
    code = "stale_version"


class InvalidCode(ValidationFailed):
    code = "invalid_code"


class InvalidDocument(ValidationFailed):
    code = "invalid_document"


class MergeNotAllowed(DomainError):
    code = "merge_not_allowed"


class PatientMerged(Conflict):
    """The record was merged into another one: it is kept for history but takes no new data."""

    code = "patient_merged"


class EntryNotFound(NotFound):
    """A chart entry that does not exist or belongs to a patient outside the actor's scope."""

    code = "entry_not_found"


class EntryNotCurrent(Conflict):
    """Only the current version of a chart entry can be corrected or retracted."""

    code = "entry_not_current"


__all__ = [
    "DuplicateSuspected",
    "EntryNotCurrent",
    "EntryNotFound",
    "InvalidCode",
    "InvalidDocument",
    "MergeNotAllowed",
    "PatientMerged",
    "PatientNotFound",
    "StaleVersion",
    "ValidationFailed",
]
