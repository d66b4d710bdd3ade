"""The clinical vocabulary of the demo network: common chronic conditions with billable ICD-10-CM codes, the
usual first-line medications for each, allergies and the labs that follow a condition.

Written by the Caredesk authors from general clinical knowledge; ICD-10-CM codes are facts and are checked
against the code set shipped with simple_icd_10_cm when this module is imported (a code that is not a
billable leaf of the tabular list stops the import). Medication doses are typical adult starting doses,
for a demonstration only. No RxNorm codes are given: a wrong code would be worse than none.
"""

from __future__ import annotations

from dataclasses import dataclass

import simple_icd_10_cm as cm
from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class Drug:
    name: str
    dose: str
    route: str
    frequency: str


@dataclass(frozen=True)
class Condition:
    code: str
    group: str  # a patient gets at most one condition of a group (one diabetes code, one CKD stage …)
    # Relative weights by age band: children (0-17), adults (18-64), seniors (65+). 0 = never.
    child: float
    adult: float
    senior: float
    drugs: tuple[Drug, ...] = ()
    labs: tuple[str, ...] = ()  # ObservationKind values measured for this condition
    sex: str = ""  # "female"/"male" when the condition belongs to one sex only
    min_age: int = 0

    def weight(self, age: int) -> float:
        if age < self.min_age:
            return 0.0
        if age < 18:
            return self.child
        return self.adult if age < 65 else self.senior


def _d(name: str, dose: str, frequency: str, route: str = "oral") -> Drug:
    return Drug(name=name, dose=dose, route=route, frequency=frequency)


ALBUTEROL = _d("Albuterol HFA inhaler", "90 mcg/actuation, 2 puffs", "every 4-6 hours as needed", "inhaled")
ATORVASTATIN = _d("Atorvastatin", "20 mg", "once daily at bedtime")
ASPIRIN = _d("Aspirin", "81 mg", "once daily")
METFORMIN = _d("Metformin", "500 mg", "twice daily with meals")
ESCITALOPRAM = _d("Escitalopram", "10 mg", "once daily")

CONDITIONS: tuple[Condition, ...] = (
    Condition("I10", "hypertension", 0, 10, 25, (
        _d("Lisinopril", "10 mg", "once daily"),
        _d("Amlodipine", "5 mg", "once daily"),
        _d("Losartan", "50 mg", "once daily"),
        _d("Hydrochlorothiazide", "25 mg", "once daily"),
    ), min_age=18),
    Condition("E78.5", "lipids", 0, 7, 14, (ATORVASTATIN, _d("Rosuvastatin", "10 mg", "once daily")),
              ("ldl",), min_age=18),
    Condition("E78.00", "lipids", 0, 3, 5, (ATORVASTATIN,), ("ldl",), min_age=18),
    Condition("E11.9", "diabetes", 0, 5, 9, (METFORMIN, _d("Empagliflozin", "10 mg", "once daily")),
              ("hba1c",), min_age=18),
    Condition("E11.65", "diabetes", 0, 2, 3, (
        METFORMIN,
        _d("Insulin glargine", "20 units", "once daily at bedtime", "subcutaneous"),
        _d("Semaglutide", "0.5 mg", "once weekly", "subcutaneous"),
    ), ("hba1c",), min_age=18),
    Condition("E11.22", "diabetes", 0, 0.5, 2, (METFORMIN, _d("Empagliflozin", "10 mg", "once daily")),
              ("hba1c", "egfr"), min_age=30),
    Condition("E11.40", "diabetes", 0, 0.5, 1.5, (METFORMIN, _d("Gabapentin", "300 mg", "three times daily")),
              ("hba1c",), min_age=30),
    Condition("R73.03", "diabetes", 0, 4, 4, (), ("hba1c",), min_age=18),
    Condition("E66.9", "obesity", 2, 6, 4, (), min_age=6),
    Condition("E66.01", "obesity", 0.3, 1.5, 1, (
        _d("Semaglutide", "0.25 mg", "once weekly", "subcutaneous"),
    ), min_age=12),
    Condition("J45.909", "asthma", 8, 4, 2, (
        ALBUTEROL, _d("Fluticasone HFA inhaler", "110 mcg/actuation, 2 puffs", "twice daily", "inhaled"),
    ), min_age=2),
    Condition("J45.20", "asthma", 5, 2, 1, (ALBUTEROL,), min_age=2),
    Condition("J30.9", "rhinitis", 6, 4, 2, (
        _d("Cetirizine", "10 mg", "once daily"),
        _d("Fluticasone nasal spray", "50 mcg/spray, 2 sprays each nostril", "once daily", "nasal"),
    ), min_age=2),
    Condition("F90.9", "adhd", 5, 1.5, 0, (_d("Methylphenidate ER", "18 mg", "every morning"),), min_age=5),
    Condition("G43.909", "migraine", 1, 3, 1, (_d("Sumatriptan", "50 mg", "at migraine onset, as needed"),),
              min_age=8),
    Condition("F32.9", "depression", 0.5, 5, 4, (_d("Sertraline", "50 mg", "once daily"), ESCITALOPRAM),
              min_age=12),
    Condition("F41.1", "anxiety", 0.5, 5, 3, (ESCITALOPRAM, _d("Buspirone", "10 mg", "twice daily")),
              min_age=12),
    Condition("E03.9", "thyroid", 0, 3, 5, (_d("Levothyroxine", "50 mcg", "once daily before breakfast"),),
              min_age=18),
    Condition("K21.9", "gerd", 0, 4, 5, (
        _d("Omeprazole", "20 mg", "once daily before breakfast"),
        _d("Famotidine", "20 mg", "twice daily"),
    ), min_age=18),
    Condition("M54.50", "back", 0, 4, 3, (
        _d("Ibuprofen", "400 mg", "every 6 hours as needed"),
        _d("Cyclobenzaprine", "5 mg", "at bedtime as needed"),
    ), min_age=18),
    Condition("G47.33", "osa", 0, 2, 3, (), min_age=18),
    Condition("E55.9", "vitamin_d", 0.5, 3, 4, (
        _d("Cholecalciferol (vitamin D3)", "2000 units", "once daily"),
    )),
    Condition("D64.9", "anemia", 0.5, 2, 3, (_d("Ferrous sulfate", "325 mg", "once daily"),)),
    Condition("F17.210", "tobacco", 0, 4, 2, (
        _d("Nicotine patch", "21 mg/24 hours", "one patch daily", "transdermal"),
    ), min_age=18),
    Condition("K58.9", "ibs", 0, 2, 1, (_d("Dicyclomine", "20 mg", "four times daily as needed"),),
              min_age=18),
    Condition("L40.0", "psoriasis", 0.2, 1.5, 1, (
        _d("Triamcinolone 0.1% cream", "thin layer", "twice daily", "topical"),
    )),
    Condition("M06.9", "ra", 0, 1, 1.5, (
        _d("Methotrexate", "15 mg", "once weekly"), _d("Folic acid", "1 mg", "once daily"),
    ), min_age=18),
    Condition("M79.7", "fibromyalgia", 0, 1, 1, (_d("Duloxetine", "30 mg", "once daily"),), min_age=18),
    Condition("J44.9", "copd", 0, 1, 7, (
        _d("Tiotropium inhaler", "18 mcg", "once daily", "inhaled"), ALBUTEROL,
    ), min_age=40),
    Condition("I50.9", "heart_failure", 0, 0.5, 4, (
        _d("Furosemide", "40 mg", "once daily"), _d("Carvedilol", "6.25 mg", "twice daily"),
    ), min_age=40),
    Condition("I11.0", "heart_failure", 0, 0.3, 2, (
        _d("Sacubitril/valsartan", "24/26 mg", "twice daily"), _d("Furosemide", "20 mg", "once daily"),
    ), min_age=40),
    Condition("I48.91", "afib", 0, 0.5, 5, (
        _d("Apixaban", "5 mg", "twice daily"), _d("Metoprolol succinate", "50 mg", "once daily"),
    ), min_age=40),
    Condition("I25.10", "cad", 0, 1, 6, (ASPIRIN, _d("Atorvastatin", "40 mg", "once daily at bedtime")),
              ("ldl",), min_age=35),
    Condition("I73.9", "pvd", 0, 0.3, 2, (ASPIRIN, _d("Cilostazol", "100 mg", "twice daily")), min_age=45),
    Condition("N18.30", "ckd", 0, 0.5, 2, (), ("egfr",), min_age=30),
    Condition("N18.31", "ckd", 0, 0.5, 2.5, (), ("egfr",), min_age=30),
    Condition("N18.32", "ckd", 0, 0.3, 1.5, (), ("egfr",), min_age=30),
    Condition("N18.4", "ckd", 0, 0.1, 0.8, (_d("Sodium bicarbonate", "650 mg", "twice daily"),), ("egfr",),
              min_age=30),
    Condition("M17.0", "knee_oa", 0, 1, 5, (
        _d("Acetaminophen", "1000 mg", "every 8 hours as needed"),
        _d("Diclofenac 1% gel", "4 g", "four times daily to the knees", "topical"),
    ), min_age=40),
    Condition("M17.11", "knee_oa", 0, 1, 3, (_d("Acetaminophen", "1000 mg", "every 8 hours as needed"),),
              min_age=40),
    Condition("M81.0", "osteoporosis", 0, 0.3, 5, (_d("Alendronate", "70 mg", "once weekly"),),
              sex="female", min_age=50),
    Condition("N40.0", "bph", 0, 1, 6, (_d("Tamsulosin", "0.4 mg", "once daily at bedtime"),), sex="male",
              min_age=45),
)  # fmt: skip

# (substance, reactions, criticality). Criticality values are AllergyCriticality.
ALLERGIES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("Penicillin", ("Hives", "Rash", "Angioedema"), "high"),
    ("Amoxicillin", ("Rash", "Hives"), "low"),
    ("Sulfonamide antibiotics", ("Rash", "Itching"), "low"),
    ("Cephalexin", ("Rash",), "low"),
    ("Codeine", ("Nausea and vomiting", "Itching"), "low"),
    ("Morphine", ("Itching", "Nausea"), "low"),
    ("Aspirin", ("Wheezing", "Hives"), "high"),
    ("Ibuprofen", ("Hives", "Stomach upset"), "low"),
    ("Lisinopril", ("Cough", "Angioedema"), "high"),
    ("Iodinated contrast media", ("Hives", "Flushing"), "unable-to-assess"),
    ("Latex", ("Contact dermatitis", "Hives"), "low"),
    ("Peanut", ("Anaphylaxis", "Hives"), "high"),
    ("Tree nuts", ("Anaphylaxis", "Throat swelling"), "high"),
    ("Shellfish", ("Hives", "Lip swelling"), "high"),
    ("Egg", ("Hives", "Vomiting"), "low"),
    ("Bee venom", ("Anaphylaxis",), "high"),
    ("Cat dander", ("Sneezing", "Watery eyes"), "low"),
    ("Adhesive tape", ("Skin irritation",), "low"),
)


def _verify() -> None:
    for condition in CONDITIONS:
        code = condition.code
        if not (cm.is_valid_item(code) and cm.is_leaf(code)):
            raise ImproperlyConfigured(f"Demo catalog: {code} is not a billable ICD-10-CM code.")
    if len({c.code for c in CONDITIONS}) != len(CONDITIONS):
        raise ImproperlyConfigured("Demo catalog: a condition is listed twice.")


_verify()

DESCRIPTIONS: dict[str, str] = {c.code: str(cm.get_description(c.code)) for c in CONDITIONS}
