"""Pure patient rules, without a database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caredesk.core.text import name_key, prefix_upper_bound
from caredesk.patients import rules
from caredesk.patients.rules import NameKeys

TODAY = dt.date(2026, 11, 24)


def keys(given_name: str, family_name: str) -> NameKeys:
    return NameKeys(given=name_key(given_name), family=name_key(family_name))


# --- demographics ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth_date", "problem"),
    [
        (dt.date(2026, 11, 25), "Birth date is in the future."),
        (dt.date(1899, 12, 31), "Birth date is before 1900."),
        (dt.date(1900, 1, 1), None),
        (TODAY, None),
    ],
)
def test_birth_date_limits(birth_date, problem):
    assert rules.birth_date_error(birth_date, TODAY) == problem


def test_deceased_date_needs_the_status_and_lies_between_birth_and_today():
    born = dt.date(1950, 5, 1)
    assert rules.deceased_date_error("deceased", None, born, TODAY) is None
    assert rules.deceased_date_error("deceased", dt.date(2020, 1, 1), born, TODAY) is None
    assert "status is deceased" in rules.deceased_date_error("active", dt.date(2020, 1, 1), born, TODAY)
    assert "before the birth date" in rules.deceased_date_error("deceased", dt.date(1949, 1, 1), born, TODAY)
    assert "future" in rules.deceased_date_error("deceased", dt.date(2027, 1, 1), born, TODAY)


def test_state_codes_are_usps_codes():
    assert all(rules.is_us_state(code) for code in ("NY", "dc", "PR"))
    assert not any(rules.is_us_state(code) for code in ("XX", "", "N"))
    assert len(set(rules.USPS_STATE_CODES)) == len(rules.USPS_STATE_CODES) == 59


def test_mrn_format():
    assert rules.format_mrn("rsh", 42) == "RSH0000042"
    assert rules.format_mrn("HMG", 12_345_678) == "HMG12345678"
    assert rules.mrn_system("rsh") == "urn:caredesk:mrn:RSH"


@given(st.integers(min_value=0, max_value=10**9))
def test_mrn_keeps_the_number(number):
    mrn = rules.format_mrn("RSH", number)
    assert mrn.startswith("RSH")
    assert int(mrn[3:]) == number
    assert len(mrn) >= 10


# --- duplicate detection ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("José", "García"), ("Jose", "Garcia")),  # accents typed or not
        (("Jon", "Smith"), ("John", "Smith")),  # same family name
        (("Katherine", "Johnson"), ("Katharine", "Jonson")),  # typos: ratio >= 0.85
        (("Nguyen", "Anh"), ("Anh", "Nguyen")),  # given and family swapped
        (("Maria", "Garcia Lopez"), ("Maria", "Lopez")),  # double-barrelled family name
        (("Mary-Kate", "O'Brien"), ("Mary Kate", "OBrien")),
    ],
)
def test_names_that_look_alike(a, b):
    assert rules.names_look_alike(keys(*a), keys(*b))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("Alice", "Walker"), ("Robert", "Chen")),
        (("Maria", "Garcia"), ("Lucia", "Fernandez")),
        (("Tom", "Lopez"), ("Ann", "Garcia Lopez")),  # shared family word but different initial
        (("", ""), ("", "")),
    ],
)
def test_names_that_do_not(a, b):
    assert not rules.names_look_alike(keys(*a), keys(*b))


name_text = st.text(alphabet=st.characters(codec="utf-8", categories=["L", "Zs", "Pd"]), max_size=20)


@given(name_text, name_text, name_text, name_text)
def test_look_alike_is_symmetric(g1, f1, g2, f2):
    a, b = keys(g1, f1), keys(g2, f2)
    assert rules.names_look_alike(a, b) == rules.names_look_alike(b, a)


@given(name_text, name_text)
def test_a_name_looks_like_itself(given_name, family_name):
    a = keys(given_name, family_name)
    assert rules.names_look_alike(a, a) == bool(a.given or a.family)


def test_short_numbers_do_not_count_as_shared_phones():
    assert rules.phone_is_matchable("5550102345")
    assert not rules.phone_is_matchable("911")


# --- search text -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1980-02-29", dt.date(1980, 2, 29)),
        ("2/29/1980", dt.date(1980, 2, 29)),
        ("02/09/2001", dt.date(2001, 2, 9)),
        ("1981-02-29", None),  # not a leap year
        ("13/01/2000", None),
        ("smith", None),
        ("2000", None),
    ],
)
def test_parse_date_text(text, expected):
    assert rules.parse_date_text(text) == expected


@given(st.dates(min_value=dt.date(1000, 1, 1)))
def test_both_date_spellings_round_trip(day):
    assert rules.parse_date_text(day.isoformat()) == day
    assert rules.parse_date_text(f"{day.month}/{day.day}/{day.year:04d}") == day


def test_what_looks_like_an_mrn_or_a_phone():
    assert all(rules.looks_like_mrn(text) for text in ("RSH0000042", "rsh42"))
    assert not any(rules.looks_like_mrn(text) for text in ("smith", "42", "o'neil"))
    assert all(rules.looks_like_phone(text) for text in ("(555) 010-2345", "+1 555.010.2345"))
    assert not any(rules.looks_like_phone(text) for text in ("555-01", "smith", "2/29/1980"))


def test_name_prefix_splits():
    assert rules.name_prefix_splits(["john"]) == []
    assert rules.name_prefix_splits(["mary", "de", "la"]) == [("mary", "de la"), ("mary de", "la")]


@given(name_text, st.integers(min_value=1, max_value=20))
def test_every_prefix_range_holds_the_keys_that_start_with_it(text, cut):
    """The search's range scan (key >= p and key < upper bound) finds exactly the keys starting with p."""
    key = name_key(text)
    prefix = key[:cut]
    if prefix:
        assert prefix <= key < prefix_upper_bound(prefix)


@given(name_text, name_text)
def test_no_key_outside_the_prefix_falls_in_its_range(a, b):
    prefix, other = name_key(a), name_key(b)
    if prefix and not other.startswith(prefix):
        assert not (prefix <= other < prefix_upper_bound(prefix))


# --- codes and measurements -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("E11.9", "E11.9"), ("e119", "E11.9"), (" i10 ", "I10"), ("s52531a", "S52.531A"), ("E11", "E11")],
)
def test_icd10_codes_are_stored_dotted_and_upper_case(typed, stored):
    assert rules.normalize_icd10(typed) == stored


@pytest.mark.parametrize("typed", ["E11.999", "A00-A09", "1", "", "XYZ", "E11.9; drop", "Z" * 30])
def test_not_icd10_codes(typed):
    assert rules.normalize_icd10(typed) is None


def test_icd10_description():
    assert rules.icd10_description("E11.9") == "Type 2 diabetes mellitus without complications"


def test_each_observation_kind_has_its_loinc_code():
    assert {kind: spec.loinc for kind, spec in rules.OBSERVATION_SPECS.items()} == {
        "blood_pressure": "85354-9",
        "heart_rate": "8867-4",
        "respiratory_rate": "9279-1",
        "temperature": "8310-5",
        "weight": "29463-7",
        "height": "8302-2",
        "bmi": "39156-5",
        "spo2": "59408-5",
        "hba1c": "4548-4",
        "ldl": "13457-7",
        "egfr": "33914-3",
    }


D = Decimal


@pytest.mark.parametrize(
    ("kind", "value", "value2", "unit", "field"),
    [
        ("blood_pressure", D("120"), D("80"), "mm[Hg]", None),
        ("blood_pressure", D("120"), None, "mm[Hg]", "value2"),
        ("blood_pressure", D("350"), D("80"), "mm[Hg]", "value"),
        ("blood_pressure", D("39"), D("20"), "mm[Hg]", "value"),
        ("blood_pressure", D("120"), D("130"), "mm[Hg]", "value2"),
        ("heart_rate", D("72"), None, "/min", None),
        ("heart_rate", D("72"), D("1"), "/min", "value2"),
        ("temperature", D("98.6"), None, "[degF]", None),
        ("temperature", D("98.6"), None, "Cel", "value"),
        ("weight", D("70"), None, "stone", "unit"),
        ("pulse", D("70"), None, "/min", "kind"),
    ],
)
def test_observation_plausibility(kind, value, value2, unit, field):
    problem = rules.observation_error(kind, value, value2, unit)
    assert (problem[0] if problem else None) == field


@given(st.decimals(min_value=40, max_value=300, places=2), st.decimals(min_value=20, max_value=200, places=2))
def test_any_plausible_blood_pressure_is_accepted_when_diastolic_is_lower(systolic, diastolic):
    problem = rules.observation_error("blood_pressure", systolic, diastolic, "mm[Hg]")
    assert (problem is None) == (diastolic < systolic)


# --- documents ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "extension"),
    [("scan.PDF", "pdf"), ("a.b.jpeg", "jpeg"), ("noext", ""), (".bashrc", ""), ("C:\\x\\y.txt", "txt")],
)
def test_file_extension(name, extension):
    assert rules.file_extension(name) == extension


def test_content_signatures():
    assert rules.content_matches("application/pdf", b"%PDF-1.7")
    assert rules.content_matches("image/png", b"\x89PNG\r\n\x1a\n")
    assert rules.content_matches("image/jpeg", b"\xff\xd8\xff\xe0")
    assert not rules.content_matches("application/pdf", b"\x89PNG\r\n\x1a\n")
    assert not rules.content_matches("image/jpeg", b"GIF89a")
    assert rules.content_matches("text/plain", b"anything: decoding is checked elsewhere")
    assert not rules.content_matches("application/x-msdownload", b"MZ")
