"""Coded errors of transitions of care. An inbound message that raises one is kept and answered AE."""

from __future__ import annotations

from caredesk.core.errors import Conflict, NotFound, ValidationFailed


class EncounterNotFound(NotFound):
    code = "encounter_not_found"


class MessageNotFound(NotFound):
    code = "hl7_message_not_found"


class EpisodeNotFound(NotFound):
    code = "tcm_episode_not_found"


class InvalidEvent(ValidationFailed):
    """The message's content contradicts itself or what is known (discharge before admission …).
    `hl7_code` is the HL7 table 0357 error code the acknowledgement carries."""

    code = "hl7_invalid_event"

    def __init__(self, message: str, *, hl7_code: str = "207", field: str | None = None) -> None:
        super().__init__(message, field=field, details={"hl7_code": hl7_code})
        self.hl7_code = hl7_code


class AlreadyLinked(Conflict):
    code = "encounter_already_linked"


class EncounterNotLinked(Conflict):
    """The visit still waits for its patient: nothing patient-specific can be done with it yet."""

    code = "encounter_not_linked"


class ChecklistItemNotFound(NotFound):
    code = "checklist_item_not_found"


class PackageNotFound(NotFound):
    code = "transfer_package_not_found"


__all__ = [
    "AlreadyLinked",
    "ChecklistItemNotFound",
    "EncounterNotFound",
    "EncounterNotLinked",
    "EpisodeNotFound",
    "InvalidEvent",
    "MessageNotFound",
    "PackageNotFound",
]
