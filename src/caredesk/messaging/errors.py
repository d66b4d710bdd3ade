"""Coded errors of the communication log."""

from __future__ import annotations

from caredesk.core.errors import Conflict, NotFound, ValidationFailed


class LinkedObjectNotFound(NotFound):
    """The referral or task named is not this patient's (or not visible): refused on its field."""

    code = "linked_object_not_found"


class CommunicationNotFound(NotFound):
    """No such log entry in the actor's scope."""

    code = "communication_not_found"


class UnknownLetterTemplate(ValidationFailed):
    """No letter template of that name."""

    code = "unknown_letter_template"


class LetterNotAllowed(Conflict):
    """The letter cannot go to this patient (deceased, merged) or does not fit what it is about (a
    no-show letter for an appointment that was kept)."""

    code = "letter_not_allowed"


class ConsentNotGiven(ValidationFailed):
    """An outbound SMS, e-mail or voicemail to a patient who has not agreed to that channel (the patient
    record's `sms_allowed`, `email_allowed`, `voicemail_allowed`)."""

    code = "communication_consent_missing"


class FaxDocumentNotFound(NotFound):
    """The chart document named for a fax is not this patient's current document (or not visible)."""

    code = "fax_document_not_found"
