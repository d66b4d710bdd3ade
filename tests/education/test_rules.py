"""The pure rules of patient education: code lists, fitting a patient's conditions, the language."""

from __future__ import annotations

from caredesk.education import rules


def test_icd10_codes_are_read_without_dots_and_in_capitals():
    assert rules.parse_codes("e11.9, I50 ;i10", kind="icd10") == (["E119", "I50", "I10"], [])
    assert rules.parse_codes("E11, diabetes, 12", kind="icd10") == (["E11"], ["diabetes", "12"])


def test_procedure_codes_are_cpt_or_hcpcs():
    assert rules.parse_codes("93000 g0438 0001F", kind="procedure") == (["93000", "G0438", "0001F"], [])
    assert rules.parse_codes("9300", kind="procedure") == ([], ["9300"])


def test_a_material_fits_a_patient_whose_code_starts_with_its_prefix():
    assert rules.fits(["E11"], ["E11.65"])
    assert rules.fits(["I10", "I11"], ["I11.0"])
    assert not rules.fits(["E11"], ["E10.9", "I50.9"])
    assert not rules.fits([], ["E11.9"])


def test_the_patients_language_comes_first_then_english():
    assert rules.language_order("es-MX", ["en", "es"]) == ["es", "en"]
    assert rules.language_order("vi", ["en", "es"]) == ["en"]
    assert rules.language_order("", ["es"]) == []
