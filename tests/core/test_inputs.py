"""The shared input parsers: record ids and text fields, each raising the caller's own error class."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from caredesk.core.errors import ValidationFailed
from caredesk.core.ids import ID_LIMIT, checked_id, optional_id, positive_id
from caredesk.core.inputs import checked_text


class AppError(ValidationFailed):
    code = "app_error"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(7, 7), ("42", 42), (" 42 ", 42), (ID_LIMIT - 1, ID_LIMIT - 1), (0, 0), (-3, 0), (ID_LIMIT, 0)],
)
def test_positive_id_is_zero_for_anything_that_cannot_be_a_record_id(value: Any, expected: int) -> None:
    assert positive_id(value) == expected


@pytest.mark.parametrize("value", [None, "", "abc", "1.5", [], 0, -1, ID_LIMIT])
def test_optional_id_is_none_for_anything_that_cannot_be_a_record_id(value: Any) -> None:
    assert optional_id(value) is None


def test_optional_id_keeps_a_record_id() -> None:
    assert optional_id("15") == 15


def test_checked_id_keeps_a_record_id() -> None:
    assert checked_id("15", "patient_id") == 15


@pytest.mark.parametrize("value", [None, "abc", "1.5", []])
def test_checked_id_refuses_what_is_not_a_whole_number(value: Any) -> None:
    with pytest.raises(ValidationFailed) as caught:
        checked_id(value, "patient_id")
    assert caught.value.message == "patient_id must be a whole number."
    assert caught.value.field == "patient_id"


@pytest.mark.parametrize("value", [0, -4, ID_LIMIT])
def test_checked_id_refuses_a_number_that_is_no_record_id(value: int) -> None:
    with pytest.raises(ValidationFailed) as caught:
        checked_id(value, "location_id")
    assert caught.value.message == "location_id must be a positive number."


def test_checked_id_raises_the_callers_error() -> None:
    with pytest.raises(AppError) as caught:
        checked_id("x", "offer_id", error=AppError)
    assert caught.value.code == "app_error"
    assert caught.value.http_status == 400


@pytest.mark.parametrize("parse", [checked_text, partial(checked_text, coerce=True)])
def test_text_is_stripped(parse: Any) -> None:
    assert parse("  Dr. Rao \n", "name", "Name", 20) == "Dr. Rao"


@pytest.mark.parametrize("parse", [checked_text, partial(checked_text, coerce=True)])
def test_nothing_is_empty_text_unless_required(parse: Any) -> None:
    assert parse(None, "note", "Note", 20) == ""
    with pytest.raises(ValidationFailed) as caught:
        parse("   ", "note", "Note", 20, required=True)
    assert caught.value.message == "Note is required."
    assert caught.value.field == "note"


@pytest.mark.parametrize("parse", [checked_text, partial(checked_text, coerce=True)])
def test_text_longer_than_the_limit_is_refused_with_the_callers_error(parse: Any) -> None:
    assert parse("x" * 5, "code", "Code", 5) == "xxxxx"
    with pytest.raises(AppError) as caught:
        parse("x" * 6, "code", "Code", 5, error=AppError)
    assert caught.value.message == "Code is longer than 5 characters."
    assert caught.value.field == "code"


@pytest.mark.parametrize("value", [12, 1.5, ["a"], {"a": 1}, False])
def test_checked_text_refuses_what_is_not_text(value: Any) -> None:
    with pytest.raises(ValidationFailed) as caught:
        checked_text(value, "subject", "Subject", 200)
    assert caught.value.message == "Subject must be text."
    assert caught.value.field == "subject"


def test_coerced_text_turns_other_values_into_text() -> None:
    assert checked_text(12, "room", "Room", 10, coerce=True) == "12"
    assert checked_text(0, "room", "Room", 10, coerce=True) == ""
    assert checked_text(False, "room", "Room", 10, coerce=True) == ""
