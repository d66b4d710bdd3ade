"""Every CSV export (audit, referrals, care plans, credentialing, supplies) writes text that people typed —
names, notes — through core.text.spreadsheet_cell, so a spreadsheet shows it instead of running it."""

from __future__ import annotations

import pytest

from caredesk.core.text import spreadsheet_cell


@pytest.mark.parametrize("typed", ['=HYPERLINK("http://x")', "+1+1", "-2", "@SUM(A1)", "\tcmd", "\rcmd"])
def test_a_cell_a_spreadsheet_would_run_is_shown_as_text(typed: str) -> None:
    assert spreadsheet_cell(typed) == "'" + typed


@pytest.mark.parametrize(("value", "cell"), [("Gauze 4x4", "Gauze 4x4"), (None, ""), (12, "12"), ("", "")])
def test_ordinary_cells_are_left_alone(value: object, cell: str) -> None:
    assert spreadsheet_cell(value) == cell
