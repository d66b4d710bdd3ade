"""The care-plan templates Caredesk ships, as data: goals with measurable targets tied to LOINC codes,
recurring activities and the care team.

Written by the Caredesk authors; the targets are facts taken from these published guidelines (check them
against the current editions before clinical use):

- Diabetes: American Diabetes Association, *Standards of Care in Diabetes* (section 6, glycemic goals:
  HbA1c < 7 % for many non-pregnant adults; section 10, blood pressure < 130/80 mm Hg; HbA1c at least
  twice a year when at goal, quarterly otherwise; eGFR/albuminuria at least yearly).
- Hypertension: 2017 ACC/AHA Guideline for the Prevention, Detection, Evaluation and Management of High
  Blood Pressure in Adults (target < 130/80 mm Hg).
- Heart failure: 2022 AHA/ACC/HFSA Guideline for the Management of Heart Failure (daily weights, report a
  gain of more than about 1 kg in a day or 2 kg in a week; BP < 130/80 in hypertensive patients).
- COPD: GOLD (Global Initiative for Chronic Obstructive Lung Disease) report (SpO2 at or above 88-92 % at
  rest; pulmonary rehabilitation and inhaler-technique education; yearly review).
- Asthma: GINA (Global Initiative for Asthma) strategy report and the NAEPP Expert Panel Report 3
  (written asthma action plan, inhaler technique, review every 1-6 months).
- Chronic kidney disease: KDIGO 2024 Clinical Practice Guideline for the Evaluation and Management of CKD
  (eGFR and albuminuria at least yearly, more often in later stages) and KDIGO 2021 blood pressure
  guideline (systolic < 120 mm Hg when tolerated; the template uses 130/80 as the common usual-care target,
  edit it per patient).

Observation codes are LOINC (facts): 4548-4 HbA1c, 8480-6 systolic and 8462-4 diastolic blood pressure
(the chart stores both in one 85354-9 panel: systolic as value, diastolic as value2), 33914-3 eGFR,
29463-7 body weight, 13457-7 LDL cholesterol, 59408-5 SpO2.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .choices import ActivityKind, CareTeamRole, Comparator


@dataclass(frozen=True)
class Measure:
    """What a goal's LOINC code reads in the chart: an observation kind and which of its values."""

    code: str
    label: str
    kind: str  # patients.choices.ObservationKind value
    component: str  # "value" or "value2"
    unit: str


MEASURES: dict[str, Measure] = {
    m.code: m
    for m in (
        Measure("4548-4", "HbA1c", "hba1c", "value", "%"),
        Measure("8480-6", "Systolic blood pressure", "blood_pressure", "value", "mm[Hg]"),
        Measure("8462-4", "Diastolic blood pressure", "blood_pressure", "value2", "mm[Hg]"),
        Measure("33914-3", "eGFR", "egfr", "value", "mL/min/{1.73_m2}"),
        Measure("29463-7", "Body weight", "weight", "value", "kg"),
        Measure("13457-7", "LDL cholesterol", "ldl", "value", "mg/dL"),
        Measure("59408-5", "Oxygen saturation", "spo2", "value", "%"),
    )
}


@dataclass(frozen=True)
class GoalSpec:
    description: str  # plain language: it goes on the patient's copy
    code: str
    comparator: str
    target: Decimal
    stale_after_days: int


@dataclass(frozen=True)
class ActivitySpec:
    kind: str
    description: str
    every_months: int | None  # None: once


@dataclass(frozen=True)
class PlanTemplate:
    code: str
    title: str
    condition: str
    icd10_prefixes: tuple[str, ...]
    goals: tuple[GoalSpec, ...]
    activities: tuple[ActivitySpec, ...]
    care_team: tuple[str, ...]
    source: str


def _g(description: str, code: str, comparator: str, target: str, stale_after_days: int) -> GoalSpec:
    return GoalSpec(description, code, comparator, Decimal(target), stale_after_days)


def _bp(stale_after_days: int = 180) -> tuple[GoalSpec, GoalSpec]:
    return (
        _g(
            "Keep the top number of your blood pressure below 130",
            "8480-6",
            Comparator.LT,
            "130",
            stale_after_days,
        ),
        _g(
            "Keep the bottom number of your blood pressure below 80",
            "8462-4",
            Comparator.LT,
            "80",
            stale_after_days,
        ),
    )


A = ActivityKind
R = CareTeamRole

TEMPLATES: dict[str, PlanTemplate] = {
    t.code: t
    for t in (
        PlanTemplate(
            code="diabetes",
            title="Diabetes care plan",
            condition="Type 2 diabetes",
            icd10_prefixes=("E11",),
            goals=(
                _g(
                    "Keep your HbA1c (3-month blood sugar average) below 7%",
                    "4548-4",
                    Comparator.LT,
                    "7",
                    180,
                ),
                *_bp(),
                _g("Keep your LDL cholesterol below 100", "13457-7", Comparator.LT, "100", 365),
            ),
            activities=(
                ActivitySpec(A.LAB, "HbA1c blood test", 3),
                ActivitySpec(A.LAB, "Kidney function (eGFR) and urine albumin test", 12),
                ActivitySpec(A.VISIT, "Diabetes check-up visit with foot check", 6),
                ActivitySpec(A.VISIT, "Dilated eye exam", 12),
                ActivitySpec(A.OUTREACH_CALL, "Check-in call from your care team", 1),
                ActivitySpec(A.EDUCATION, "Diabetes self-management education", None),
            ),
            care_team=(R.PHYSICIAN, R.NURSE, R.COORDINATOR, R.EDUCATOR, R.DIETITIAN),
            source="ADA Standards of Care in Diabetes (glycemic and blood pressure targets)",
        ),
        PlanTemplate(
            code="hypertension",
            title="High blood pressure care plan",
            condition="Hypertension",
            icd10_prefixes=("I10", "I11", "I12", "I13"),
            goals=_bp(),
            activities=(
                ActivitySpec(A.VISIT, "Blood pressure check visit", 3),
                ActivitySpec(A.LAB, "Kidney function and potassium blood test", 12),
                ActivitySpec(A.OUTREACH_CALL, "Call to review home blood pressure readings", 1),
                ActivitySpec(A.EDUCATION, "Home blood pressure monitoring and low-salt diet", None),
            ),
            care_team=(R.PHYSICIAN, R.NURSE, R.COORDINATOR, R.PHARMACIST),
            source="2017 ACC/AHA High Blood Pressure Guideline (< 130/80 mm Hg)",
        ),
        PlanTemplate(
            code="heart_failure",
            title="Heart failure care plan",
            condition="Heart failure",
            icd10_prefixes=("I50",),
            goals=(
                *_bp(),
                _g(
                    "Weigh yourself every day; keep your weight at or below your dry weight (edit)",
                    "29463-7",
                    Comparator.LE,
                    "90",
                    7,
                ),
            ),
            activities=(
                ActivitySpec(A.OUTREACH_CALL, "Call to review weight, swelling and breathing", 1),
                ActivitySpec(A.VISIT, "Heart failure follow-up visit", 3),
                ActivitySpec(A.LAB, "Kidney function and potassium blood test", 6),
                ActivitySpec(A.EDUCATION, "Daily weights, low-salt diet and warning signs", None),
            ),
            care_team=(R.PHYSICIAN, R.CARDIOLOGIST, R.NURSE, R.COORDINATOR, R.PHARMACIST, R.DIETITIAN),
            source="2022 AHA/ACC/HFSA Heart Failure Guideline",
        ),
        PlanTemplate(
            code="copd",
            title="COPD care plan",
            condition="Chronic obstructive pulmonary disease",
            icd10_prefixes=("J44",),
            goals=(
                _g("Keep your oxygen level at 90% or higher at rest", "59408-5", Comparator.GE, "90", 180),
            ),
            activities=(
                ActivitySpec(A.VISIT, "COPD review visit (symptoms, inhalers, vaccines)", 6),
                ActivitySpec(A.EDUCATION, "Inhaler technique and pulmonary rehabilitation", None),
                ActivitySpec(A.OUTREACH_CALL, "Check-in call about breathing and flare-ups", 1),
            ),
            care_team=(R.PHYSICIAN, R.PULMONOLOGIST, R.RESPIRATORY_THERAPIST, R.NURSE, R.COORDINATOR),
            source="GOLD COPD report",
        ),
        PlanTemplate(
            code="asthma",
            title="Asthma care plan",
            condition="Asthma",
            icd10_prefixes=("J45",),
            goals=(_g("Keep your oxygen level at 95% or higher", "59408-5", Comparator.GE, "95", 365),),
            activities=(
                ActivitySpec(A.VISIT, "Asthma review visit", 6),
                ActivitySpec(A.EDUCATION, "Written asthma action plan and inhaler technique", None),
                ActivitySpec(A.OUTREACH_CALL, "Check-in call about asthma control", 3),
            ),
            care_team=(R.PHYSICIAN, R.NURSE, R.COORDINATOR, R.RESPIRATORY_THERAPIST),
            source="GINA strategy report; NAEPP EPR-3",
        ),
        PlanTemplate(
            code="ckd",
            title="Chronic kidney disease care plan",
            condition="Chronic kidney disease",
            icd10_prefixes=("N18",),
            goals=(
                *_bp(),
                _g("Keep your kidney function (eGFR) at 30 or higher", "33914-3", Comparator.GE, "30", 365),
            ),
            activities=(
                ActivitySpec(A.LAB, "Kidney function (eGFR) and urine albumin test", 6),
                ActivitySpec(A.VISIT, "Kidney care visit", 6),
                ActivitySpec(A.OUTREACH_CALL, "Check-in call about medicines and blood pressure", 1),
                ActivitySpec(A.EDUCATION, "Kidney-friendly diet and medicines to avoid", None),
            ),
            care_team=(R.PHYSICIAN, R.NEPHROLOGIST, R.NURSE, R.COORDINATOR, R.DIETITIAN, R.PHARMACIST),
            source="KDIGO 2024 CKD guideline; KDIGO 2021 blood pressure guideline",
        ),
    )
}
