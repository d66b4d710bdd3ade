"""X12 files in the JSON API (/api/v1/x12/...): upload one inbound file (271, 835, 999 or 277CA, detected
from ST01/GS08) as the raw request body; the answer says what the import changed. The same file again
changes nothing; a bad file answers 400 `invalid_x12` naming the segment and line, and changes nothing.

(No `from __future__ import annotations` here: ninja evaluates the handlers' annotations at import time.)
"""

from typing import Any

from django.http import HttpRequest
from ninja import Query, Schema
from pydantic import Field

from caredesk.accounts.permissions import Permission
from caredesk.core.errors import ValidationFailed

from .api import ERRORS, actor_of, endpoint
from .schemas import ErrorOut
from .x12.inbound import import_x12
from .x12.segments import X12Error

TAGS = ["x12"]


class InvalidX12File(ValidationFailed):
    code = "invalid_x12"


class X12UploadParams(Schema):
    file_name: str = Field("", max_length=200, description="The file's name, kept with the import")


class X12ImportOut(Schema):
    kind: str = Field(description="271, 835, 999 or 277CA")
    file_name: str
    duplicate: bool = Field(description="True when this file was imported before: nothing changed")
    lines: list[str] = Field(description="What the import changed, in plain words")


@endpoint(
    "POST",
    "/x12/imports",
    Permission.BILLING_MANAGE,
    response={200: X12ImportOut, 409: ErrorOut, **ERRORS},
    summary="Import an X12 file (271, 835, 999, 277CA)",
    tags=TAGS,
)
def import_x12_file(request: HttpRequest, params: Query[X12UploadParams]) -> Any:
    """Send the file itself as the body (`Content-Type: application/edi-x12` or `text/plain`). A 271 also
    needs the permission to check eligibility. Claims, remittances and eligibility checks change through
    their apps' services, which write the audit rows."""
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidX12File("The file is not UTF-8 (or ASCII) text.", field="body") from exc
    try:
        result = import_x12(actor=actor_of(request), text=text, file_name=params.file_name.strip())
    except X12Error as exc:
        raise InvalidX12File(
            str(exc), field="body", details={"segment": exc.segment, "line": exc.line}
        ) from exc
    return {
        "kind": result.kind,
        "file_name": result.file_name,
        "duplicate": result.duplicate,
        "lines": result.lines,
    }
