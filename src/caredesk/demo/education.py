"""The demo's patient-education library: short handouts on diabetes, high blood pressure and heart failure,
in English and Spanish, added through the education services in every organization. Loaded before the care
plans, so a new plan's education activity finds its handout and assigns it.

The text was written for this demo by the Caredesk authors; each material names the guideline its advice
follows (the same guidelines the care-plan templates cite). It is plain-language orientation, not a
replacement for reviewed patient materials.
"""

from __future__ import annotations

from dataclasses import dataclass

from caredesk.accounts.models import Organization
from caredesk.accounts.permissions import Permission
from caredesk.core.context import system_actor
from caredesk.education import services

_PERMISSIONS = frozenset({str(Permission.EDUCATION_MANAGE), str(Permission.EDUCATION_VIEW)})
_BY = "Written for the Caredesk demo by the Caredesk authors"


@dataclass(frozen=True)
class DemoMaterial:
    title: str
    conditions: str
    language: str
    reading_level: str
    body: str
    source: str


MATERIALS: tuple[DemoMaterial, ...] = (
    DemoMaterial(
        "Living well with type 2 diabetes",
        "E11",
        "en",
        "easy",
        "Diabetes means your body has trouble using sugar from food.\n\n"
        "Check your blood sugar as your care team showed you and write the numbers down.\n\n"
        "Take your diabetes medicines every day, even when you feel well.\n\n"
        "Fill half your plate with vegetables. Choose water instead of sweet drinks.\n\n"
        "Walk or move for 30 minutes on most days.\n\n"
        "Look at your feet every day. Call us about any sore that does not heal.\n\n"
        "Your HbA1c blood test shows your average sugar over 3 months. Many people aim for below 7%.",
        f"{_BY}; advice follows the ADA Standards of Care in Diabetes",
    ),
    DemoMaterial(
        "Vivir bien con la diabetes tipo 2",
        "E11",
        "es",
        "easy",
        "La diabetes significa que su cuerpo tiene problemas para usar el azúcar de los alimentos.\n\n"
        "Mida su azúcar en la sangre como le enseñó su equipo de salud y anote los números.\n\n"
        "Tome sus medicinas para la diabetes todos los días, aunque se sienta bien.\n\n"
        "Llene la mitad de su plato con verduras. Tome agua en lugar de bebidas dulces.\n\n"
        "Camine o muévase 30 minutos casi todos los días.\n\n"
        "Revise sus pies cada día. Llámenos si tiene una herida que no sana.\n\n"
        "La prueba de HbA1c muestra su azúcar promedio de 3 meses. Muchas personas buscan menos de 7%.",
        f"{_BY}; los consejos siguen los Standards of Care in Diabetes de la ADA",
    ),
    DemoMaterial(
        "Controlling high blood pressure at home",
        "I10, I11, I12, I13",
        "en",
        "easy",
        "High blood pressure often has no symptoms, but it strains your heart, brain and kidneys.\n\n"
        "Measure your blood pressure at home at the same times each day, sitting quietly for 5 minutes "
        "first. Write the numbers down and bring them to your visits.\n\n"
        "Most people aim for below 130/80.\n\n"
        "Eat less salt: cook at home, read labels, and go easy on canned soups and deli meats.\n\n"
        "Take your blood pressure medicines every day. Do not stop them without talking to us.\n\n"
        "Call 911 for chest pain, trouble speaking, or sudden weakness.",
        f"{_BY}; advice follows the 2017 ACC/AHA High Blood Pressure Guideline",
    ),
    DemoMaterial(
        "Cómo controlar la presión alta en casa",
        "I10, I11, I12, I13",
        "es",
        "easy",
        "La presión alta muchas veces no da síntomas, pero daña el corazón, el cerebro y los riñones.\n\n"
        "Mida su presión en casa a la misma hora cada día, después de estar sentado tranquilo 5 minutos. "
        "Anote los números y tráigalos a sus citas.\n\n"
        "La mayoría de las personas buscan menos de 130/80.\n\n"
        "Coma menos sal: cocine en casa, lea las etiquetas y evite sopas enlatadas y embutidos.\n\n"
        "Tome sus medicinas para la presión todos los días. No las deje sin hablar con nosotros.\n\n"
        "Llame al 911 si tiene dolor de pecho, dificultad para hablar o debilidad repentina.",
        f"{_BY}; los consejos siguen la guía de presión alta ACC/AHA de 2017",
    ),
    DemoMaterial(
        "Heart failure: daily weights and warning signs",
        "I50",
        "en",
        "standard",
        "Weigh yourself every morning after using the toilet and before breakfast, in the same clothes, "
        "and write it down.\n\n"
        "Call your care team the same day if you gain more than 1 kg (2 lb) in a day or 2 kg (5 lb) in a "
        "week, if your ankles or belly swell, or if you are more short of breath than usual.\n\n"
        "Limit salt, and drink only as much fluid as your care team advised.\n\n"
        "Take your heart medicines every day; bring all your pill bottles to your next visit.\n\n"
        "Call 911 if you cannot catch your breath at rest or have chest pain.",
        f"{_BY}; advice follows the 2022 AHA/ACC/HFSA Heart Failure Guideline",
    ),
    DemoMaterial(
        "Insuficiencia cardíaca: el peso diario y las señales de alarma",
        "I50",
        "es",
        "standard",
        "Pésese cada mañana después de ir al baño y antes de desayunar, con la misma ropa, y anótelo.\n\n"
        "Llame a su equipo de salud el mismo día si sube más de 1 kg (2 libras) en un día o 2 kg "
        "(5 libras) en una semana, si se le hinchan los tobillos o el vientre, o si le falta el aire más "
        "de lo normal.\n\n"
        "Coma poca sal y tome solo la cantidad de líquidos que le indicó su equipo de salud.\n\n"
        "Tome sus medicinas del corazón todos los días; traiga todos sus frascos a la próxima cita.\n\n"
        "Llame al 911 si le falta el aire estando en reposo o tiene dolor de pecho.",
        f"{_BY}; los consejos siguen la guía de insuficiencia cardíaca AHA/ACC/HFSA de 2022",
    ),
)


def load_education(organizations: list[Organization]) -> int:
    """Add the demo materials to every organization's library; the number added."""
    added = 0
    for organization in organizations:
        actor = system_actor(
            organization_id=organization.pk, permissions=_PERMISSIONS, channel="cli", username="seed_demo"
        )
        for m in MATERIALS:
            services.add_material(
                actor=actor,
                title=m.title,
                language=m.language,
                reading_level=m.reading_level,
                source=m.source,
                condition_codes=m.conditions,
                body=m.body,
            )
            added += 1
    return added
