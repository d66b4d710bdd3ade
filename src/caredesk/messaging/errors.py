"""Coded errors of the communication log."""

from __future__ import annotations

from caredesk.core.errors import NotFound


class LinkedObjectNotFound(NotFound):
    """The referral or task named is not this patient's (or not visible): refused on its field."""

    code = "linked_object_not_found"


class CommunicationNotFound(NotFound):
    """No such log entry in the actor's scope."""

    code = "communication_not_found"
