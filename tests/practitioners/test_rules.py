"""The NPI check digit (CMS: Luhn over the nine digits with the 80840 prefix)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caredesk.practitioners.rules import is_valid_npi, npi_check_digit, npi_error


@pytest.mark.parametrize("npi", ["1234567893", "1558598797"])
def test_known_valid_npis(npi):
    assert is_valid_npi(npi)
    assert npi_error(npi) is None


@pytest.mark.parametrize(
    "npi",
    [
        "1234567890",  # wrong check digit
        "0123456789",  # must start with 1 or 2
        "3234567893",
        "123456789",  # nine digits
        "12345678930",  # eleven digits
        "12345678a3",  # letters
        "abcdefghij",
        " 1234567893",
        "",
    ],
)
def test_invalid_npis(npi):
    assert not is_valid_npi(npi)
    assert npi_error(npi)


def test_error_message_names_the_check_digit():
    assert npi_error("1234567890") == "NPI 1234567890 fails its check digit."
    assert npi_error("0123456789") == "An NPI is 10 digits and starts with 1 or 2."


@given(st.sampled_from("12"), st.text(alphabet="0123456789", min_size=8, max_size=8), st.data())
def test_appending_the_check_digit_makes_a_valid_npi_and_nothing_else_does(first, rest, data):
    first_nine = first + rest
    check = npi_check_digit(first_nine)
    assert 0 <= check <= 9
    assert is_valid_npi(first_nine + str(check))
    wrong = data.draw(st.integers(0, 9).filter(lambda d: d != check))
    assert not is_valid_npi(first_nine + str(wrong))
