"""The demo network as plain values, generated from a seed: no database, no clock.

Everything random comes from `random.Random` seeded with the --seed value (one stream for the network, one
for the patients), and every date is counted back from REFERENCE_DATE, so one seed always gives the same
organizations, practitioners, patients, MRN order and chart. Names, streets and places come from the text
files in `data/` (see data/README.md).
"""

from __future__ import annotations

import datetime as dt
import random
import string
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from importlib import resources

from unidecode import unidecode

from caredesk.accounts.models import LocationKind
from caredesk.accounts.permissions import Role
from caredesk.core.text import name_key
from caredesk.patients import rules as patient_rules
from caredesk.patients.bulk import AllergyRow, MedicationRow, ObservationRow, PatientRecord, ProblemRow
from caredesk.patients.schemas import IdentifierInput, PatientInput, RelatedPersonInput, TelecomInput
from caredesk.practitioners.models import Specialty
from caredesk.practitioners.rules import npi_check_digit

from . import catalog

# The demo's "today": ages, onset dates and visits are counted back from it (not from the clock).
REFERENCE_DATE = dt.date(2026, 6, 30)
PRACTITIONER_COUNT = 25
# Every Nth patient of an organization (from the 8th on) repeats an earlier one's birth date with a
# look-alike name, so the duplicate warning has something to show.
DUPLICATE_EVERY = 80
DUPLICATE_OFFSET = 7
MBI_SYSTEM = "http://hl7.org/fhir/sid/us-mbi"
MBI_LETTERS = "ACDEFGHJKMNPQRTUVWXY"  # CMS: no S, L, O, I, B, Z


# --- data files ---------------------------------------------------------------------------------------


def _lines(filename: str) -> list[str]:
    text = resources.files("caredesk.demo").joinpath("data", filename).read_text(encoding="utf-8")
    seen: dict[str, None] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            seen.setdefault(line, None)
    return list(seen)


@dataclass(frozen=True)
class Place:
    city: str
    postal_code: str
    area_code: str


@dataclass(frozen=True)
class Names:
    female: tuple[str, ...]
    male: tuple[str, ...]
    family: tuple[str, ...]
    streets: tuple[str, ...]
    places: dict[str, tuple[Place, ...]]


@cache
def names() -> Names:
    places: dict[str, tuple[Place, ...]] = {}
    for state in ("NY", "NJ"):
        rows = [line.split("\t") for line in _lines(f"places_{state}.tsv")]
        places[state] = tuple(Place(city, zip_code, area) for city, zip_code, area in rows)
    return Names(
        female=tuple(_lines("given_names_female.txt")),
        male=tuple(_lines("given_names_male.txt")),
        family=tuple(_lines("family_names.txt")),
        streets=tuple(_lines("street_names.txt")),
        places=places,
    )


# --- the network ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LocationSpec:
    name: str
    kind: str
    address_line: str
    city: str
    postal_code: str
    phone: str
    departments: tuple[str, ...]


@dataclass(frozen=True)
class OrganizationSpec:
    name: str
    short_code: str
    state: str
    phone: str
    email_domain: str
    locations: tuple[LocationSpec, ...]
    patient_share: int  # out of 5


ORGANIZATIONS: tuple[OrganizationSpec, ...] = (
    OrganizationSpec(
        name="Riverside Health",
        short_code="RSH",
        state="NY",
        phone="(914) 555-0100",
        email_domain="riverside.example.org",
        patient_share=3,
        locations=(
            LocationSpec(
                "Riverside Family Health Center", LocationKind.CLINIC, "120 Riverdale Avenue", "Yonkers",
                "10701", "(914) 555-0110", ("Primary care", "Pediatrics", "Endocrinology"),
            ),
            LocationSpec(
                "Riverside Hospital, 5 North Medical Unit", LocationKind.HOSPITAL_UNIT,
                "41 Hospital Plaza", "White Plains", "10601", "(914) 555-0150",
                ("Inpatient medicine", "Cardiology", "Pulmonology"),
            ),
        ),
    ),
    OrganizationSpec(
        name="Hilltop Medical Group",
        short_code="HMG",
        state="NJ",
        phone="(973) 555-0100",
        email_domain="hilltop.example.org",
        patient_share=2,
        locations=(
            LocationSpec(
                "Hilltop Medical Group, Montclair", LocationKind.CLINIC, "300 Bloomfield Avenue", "Montclair",
                "07042", "(973) 555-0120", ("Primary care", "Behavioral health"),
            ),
            LocationSpec(
                "Hilltop Medical Group, Newark", LocationKind.CLINIC, "85 Broad Street", "Newark", "07102",
                "(973) 555-0160", ("Primary care", "Women's health", "Orthopedics and rehabilitation"),
            ),
        ),
    ),
)  # fmt: skip

# (specialty, credentials, which locations of the organization: "clinic", "hospital" or "any")
_STAFFING: tuple[tuple[tuple[str, str], ...], ...] = (
    (
        (Specialty.FAMILY_MEDICINE, "clinic"), (Specialty.FAMILY_MEDICINE, "clinic"),
        (Specialty.FAMILY_MEDICINE, "clinic"), (Specialty.INTERNAL_MEDICINE, "any"),
        (Specialty.INTERNAL_MEDICINE, "hospital"), (Specialty.PEDIATRICS, "clinic"),
        (Specialty.PEDIATRICS, "clinic"), (Specialty.CARDIOLOGY, "any"), (Specialty.ENDOCRINOLOGY, "clinic"),
        (Specialty.PULMONOLOGY, "hospital"), (Specialty.NEPHROLOGY, "any"),
        (Specialty.NURSE_PRACTITIONER, "clinic"), (Specialty.PSYCHIATRY, "clinic"),
        (Specialty.GENERAL_SURGERY, "hospital"),
    ),
    (
        (Specialty.FAMILY_MEDICINE, "any"), (Specialty.FAMILY_MEDICINE, "any"),
        (Specialty.INTERNAL_MEDICINE, "any"), (Specialty.PEDIATRICS, "any"), (Specialty.CARDIOLOGY, "any"),
        (Specialty.OBSTETRICS_GYNECOLOGY, "any"), (Specialty.DERMATOLOGY, "any"),
        (Specialty.NEUROLOGY, "any"), (Specialty.ORTHOPEDIC_SURGERY, "any"),
        (Specialty.PHYSICAL_THERAPY, "any"), (Specialty.NURSE_PRACTITIONER, "any"),
    ),
)  # fmt: skip


@dataclass(frozen=True)
class PractitionerSpec:
    organization: int  # index into ORGANIZATIONS
    given_name: str
    family_name: str
    credentials: str
    npi: str
    specialty: str
    phone: str
    email: str
    locations: tuple[int, ...]  # indexes into the organization's locations
    username: str = ""  # the physician account linked to this practitioner, if any


@dataclass(frozen=True)
class UserSpec:
    username: str
    role: str
    organization: int
    first_name: str
    last_name: str
    practitioner: int | None = None  # index into the practitioner list
    portal: bool = False  # bound to the organization's first demo patient


# Staff accounts: one per role in the first organization, a coordinator in the second, and two more
# physicians linked to practitioners. Physician names are taken from their practitioner.
_USERS: tuple[tuple[str, str, int, str, str], ...] = (
    ("admin", Role.ADMINISTRATOR, 0, "Alex", "Morgan"),
    ("coordinator", Role.COORDINATOR, 0, "Camila", "Ortiz"),
    ("frontdesk", Role.FRONT_DESK, 0, "Frank", "Doyle"),
    ("billing", Role.BILLING, 0, "Bianca", "Russo"),
    ("nurse", Role.NURSE, 0, "Nadia", "Kowalski"),
    ("physician", Role.PHYSICIAN, 0, "", ""),
    ("patient", Role.PATIENT, 0, "", ""),
    ("coordinator2", Role.COORDINATOR, 1, "Chloé", "Martin"),
    ("physician2", Role.PHYSICIAN, 0, "", ""),
    ("physician3", Role.PHYSICIAN, 1, "", ""),
)
# physician account -> (organization, specialty) of the practitioner it is linked to
_PHYSICIAN_LINKS = {
    "physician": (0, Specialty.FAMILY_MEDICINE),
    "physician2": (0, Specialty.CARDIOLOGY),
    "physician3": (1, Specialty.INTERNAL_MEDICINE),
}
DEMO_USERNAMES: tuple[str, ...] = tuple(u[0] for u in _USERS)


@dataclass(frozen=True)
class Network:
    organizations: tuple[OrganizationSpec, ...]
    practitioners: tuple[PractitionerSpec, ...]
    users: tuple[UserSpec, ...]
    organization_npis: tuple[str, ...]


def make_npi(rng: random.Random, taken: set[str]) -> str:
    """A valid, unused NPI: 1 and eight random digits, then the CMS check digit."""
    while True:
        first_nine = "1" + "".join(rng.choice(string.digits) for _ in range(8))
        npi = first_nine + str(npi_check_digit(first_nine))
        if npi not in taken:
            taken.add(npi)
            return npi


def _credentials(rng: random.Random, specialty: str) -> str:
    if specialty == Specialty.NURSE_PRACTITIONER:
        return "NP"
    if specialty == Specialty.PHYSICAL_THERAPY:
        return "PT, DPT"
    return "DO" if rng.random() < 0.25 else "MD"


def _practitioner_locations(rng: random.Random, org: OrganizationSpec, where: str) -> tuple[int, ...]:
    clinics = [i for i, loc in enumerate(org.locations) if loc.kind == LocationKind.CLINIC]
    hospital = [i for i, loc in enumerate(org.locations) if loc.kind != LocationKind.CLINIC]
    if where == "clinic" and clinics:
        return (rng.choice(clinics),)
    if where == "hospital" and hospital:
        return (rng.choice(hospital),)
    count = rng.choice((1, 2))
    return tuple(sorted(rng.sample(range(len(org.locations)), count)))


def network(seed: int) -> Network:
    rng = random.Random(f"caredesk-demo:{seed}:network")  # noqa: S311 (made-up data, not secrets)
    data = names()
    npis: set[str] = set()
    organization_npis = tuple(make_npi(rng, npis) for _ in ORGANIZATIONS)
    practitioners: list[PractitionerSpec] = []
    used_names: set[tuple[str, str]] = set()
    links_left = dict(_PHYSICIAN_LINKS)
    for org_index, staffing in enumerate(_STAFFING):
        org = ORGANIZATIONS[org_index]
        for specialty, where in staffing:
            while True:
                female = rng.random() < 0.55
                given = rng.choice(data.female if female else data.male)
                family = rng.choice(data.family)
                if (given, family) not in used_names:
                    used_names.add((given, family))
                    break
            username = ""
            for account, (link_org, link_specialty) in list(links_left.items()):
                if link_org == org_index and link_specialty == specialty:
                    username = account
                    del links_left[account]
                    break
            key = name_key(f"{given} {family}").replace(" ", ".")
            practitioners.append(
                PractitionerSpec(
                    organization=org_index,
                    given_name=given,
                    family_name=family,
                    credentials=_credentials(rng, specialty),
                    npi=make_npi(rng, npis),
                    specialty=specialty,
                    phone=org.locations[0].phone,
                    email=f"{key}@{org.email_domain}",
                    locations=_practitioner_locations(rng, org, where),
                    username=username,
                )
            )
    assert len(practitioners) == PRACTITIONER_COUNT
    assert not links_left, f"no practitioner for the physician accounts {sorted(links_left)}"
    users: list[UserSpec] = []
    for username, role, org_index, first, last in _USERS:
        linked = next((i for i, p in enumerate(practitioners) if p.username == username), None)
        if linked is not None:
            first, last = practitioners[linked].given_name, practitioners[linked].family_name
        users.append(
            UserSpec(
                username=username,
                role=role,
                organization=org_index,
                first_name=first,
                last_name=last,
                practitioner=linked,
                portal=role == Role.PATIENT,
            )
        )
    return Network(ORGANIZATIONS, tuple(practitioners), tuple(users), organization_npis)


# --- patients -------------------------------------------------------------------------------------------

_NICKNAMES = {
    "William": "Bill", "Robert": "Bob", "Richard": "Rick", "James": "Jim", "Joseph": "Joe",
    "Elizabeth": "Liz", "Margaret": "Peggy", "Katherine": "Kate", "Jennifer": "Jen", "Michael": "Mike",
    "Christopher": "Chris", "Anthony": "Tony", "Patricia": "Pat", "Rebecca": "Becky", "Alexander": "Alex",
    "Nicholas": "Nick", "Samantha": "Sam", "Thomas": "Tom", "Victoria": "Vicky", "Daniel": "Dan",
}  # fmt: skip
_LANGUAGES = (("en", 84), ("es", 10), ("zh", 1.5), ("vi", 1), ("pl", 1), ("ht", 1), ("ko", 0.7), ("ru", 0.8))
_AGE_BANDS = ((0, 17, 20), (18, 44, 34), (45, 64, 26), (65, 95, 20))  # (from, to, percent)
_PROBLEM_COUNTS = {  # how many chronic problems, by age band: weights for 0, 1, 2, 3, 4
    "child": (60, 30, 10, 0, 0),
    "young": (40, 30, 20, 8, 2),
    "middle": (15, 25, 30, 20, 10),
    "senior": (5, 15, 25, 30, 25),
}
_ALLERGY_COUNTS = (65, 27, 8)
# Approximate median height (cm) by age for children: a simple growth table.
_CHILD_HEIGHT = {0: 62, 1: 76, 2: 87, 3: 95, 4: 102, 5: 109, 6: 115, 7: 122, 8: 128, 9: 133, 10: 138,
                 11: 144, 12: 150, 13: 156, 14: 162, 15: 166, 16: 169, 17: 171}  # fmt: skip


@dataclass
class GeneratedPatient:
    """A record to import, for organization `organization` (index), and its place in that organization's
    sequence (0, 1, 2 …; the MRN order)."""

    organization: int
    sequence: int
    record: PatientRecord
    duplicate_of: int | None = None  # sequence number of the patient it resembles
    portal: bool = False


@dataclass
class _OrgState:
    count: int = 0
    recent: list[PatientInput] = field(default_factory=list)


class PatientGenerator:
    """Yields patients in a fixed order: organization by organization share (3 of every 5 to the first)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(f"caredesk-demo:{seed}:patients")  # noqa: S311 (made-up data)
        self.data = names()
        self.states = [_OrgState() for _ in ORGANIZATIONS]
        shares = [index for index, org in enumerate(ORGANIZATIONS) for _ in range(org.patient_share)]
        self.cycle = shares

    def generate(self, count: int) -> Iterator[GeneratedPatient]:
        for index in range(count):
            yield self.one(self.cycle[index % len(self.cycle)])

    def one(self, org_index: int) -> GeneratedPatient:
        org = ORGANIZATIONS[org_index]
        state = self.states[org_index]
        sequence = state.count
        state.count += 1
        duplicate_of: int | None = None
        if sequence == 0:
            data = self._demographics(org, age=self.rng.randint(34, 62), status="active", featured=True)
        elif sequence % DUPLICATE_EVERY == DUPLICATE_OFFSET and state.recent:
            back = self.rng.randrange(len(state.recent))
            data = self._near_duplicate(org, state.recent[back])
            duplicate_of = sequence - len(state.recent) + back
        else:
            status = "deceased" if sequence == 11 else "inactive" if sequence == 13 else ""
            data = self._demographics(org, age=self._age(), status=status)
        state.recent = [*state.recent[-(DUPLICATE_EVERY - 1) :], data]
        record = PatientRecord(patient=data)
        self._chart(record, featured=sequence == 0)
        return GeneratedPatient(org_index, sequence, record, duplicate_of=duplicate_of, portal=sequence == 0)

    # demographics ----------------------------------------------------------------------------------

    def _age(self) -> int:
        rng = self.rng
        low, high, _ = rng.choices(_AGE_BANDS, weights=[b[2] for b in _AGE_BANDS])[0]
        return rng.randint(low, high)

    def _birth_date(self, age: int) -> dt.date:
        latest = REFERENCE_DATE.replace(year=REFERENCE_DATE.year - age)
        return latest - dt.timedelta(days=self.rng.randrange(365))

    def _phone(self, place: Place) -> str:
        # Exchange 555 is not given to subscribers: these numbers reach nobody.
        return f"({place.area_code}) 555-{self.rng.randrange(10000):04d}"

    def _email(self, given: str, family: str) -> str:
        local = f"{name_key(given)}.{name_key(family)}".replace(" ", "")
        if self.rng.random() < 0.5:
            local += str(self.rng.randint(1, 99))
        return f"{local}@{self.rng.choice(('example.com', 'example.net', 'example.org'))}"

    def _family_name(self) -> str:
        rng = self.rng
        family = rng.choice(self.data.family)
        if rng.random() < 0.03:
            other = rng.choice(self.data.family)
            if other != family and " " not in family + other:
                family = f"{family}-{other}" if rng.random() < 0.6 else f"{family} {other}"
        return family

    def _demographics(
        self, org: OrganizationSpec, *, age: int, status: str, featured: bool = False
    ) -> PatientInput:
        rng = self.rng
        sex_roll = rng.random()
        sex = (
            "female" if sex_roll < 0.505 else "male" if sex_roll < 0.995 else rng.choice(("other", "unknown"))
        )
        female = sex == "female" or (sex != "male" and rng.random() < 0.5)
        given_list = self.data.female if female else self.data.male
        given = rng.choice(given_list)
        family = self._family_name()
        middle = rng.choice(given_list) if rng.random() < 0.25 else ""
        if middle == given:
            middle = ""
        suffix = (
            rng.choice(("Jr.", "Sr.", "III")) if sex == "male" and age >= 18 and rng.random() < 0.02 else ""
        )
        preferred = _NICKNAMES.get(given, "") if rng.random() < 0.3 else ""
        birth_date = self._birth_date(age)
        place = rng.choice(self.data.places[org.state])
        adult = age >= 18

        telecoms: list[TelecomInput] = []
        if featured or rng.random() < (0.9 if age >= 12 else 0.6):
            telecoms.append(TelecomInput(self._phone(place), use="mobile"))
        if rng.random() < 0.3:
            telecoms.append(TelecomInput(self._phone(place), use="home"))
        if adult and age < 70 and rng.random() < 0.08:
            telecoms.append(TelecomInput(self._phone(place), use="work"))
        email = self._email(given, family) if featured or (adult and rng.random() < 0.45) else ""
        has_mobile = any(t.use == "mobile" for t in telecoms)

        if not status:
            roll = rng.random()
            death_odds = 0.05 if age >= 75 else 0.006
            status = "deceased" if roll < death_odds else "inactive" if roll < death_odds + 0.03 else "active"
        deceased_date = None
        if status == "deceased":
            earliest = max(birth_date, REFERENCE_DATE - dt.timedelta(days=5 * 365))
            deceased_date = earliest + dt.timedelta(days=rng.randrange((REFERENCE_DATE - earliest).days + 1))

        return PatientInput(
            given_name=given,
            family_name=family,
            middle_name=middle,
            suffix=suffix,
            preferred_name=preferred,
            birth_date=birth_date,
            sex=sex,
            email=email,
            address_line1=f"{rng.randint(1, 2999)} {rng.choice(self.data.streets)}",
            address_line2=f"Apt {rng.randint(1, 12)}{rng.choice('ABCDEF')}" if rng.random() < 0.15 else "",
            city=place.city,
            state=org.state,
            postal_code=place.postal_code,
            preferred_language="en" if featured else self._language(),
            sms_allowed=has_mobile and (featured or rng.random() < 0.7),
            email_allowed=bool(email) and (featured or rng.random() < 0.75),
            voicemail_allowed=bool(telecoms) and rng.random() < 0.6,
            status=status,
            deceased_date=deceased_date,
            telecoms=telecoms,
            identifiers=self._identifiers(org, age),
            related_persons=self._related(place, family, age),
        )

    def _language(self) -> str:
        return self.rng.choices([code for code, _ in _LANGUAGES], weights=[w for _, w in _LANGUAGES])[0]

    def _identifiers(self, org: OrganizationSpec, age: int) -> list[IdentifierInput]:
        rng = self.rng
        identifiers = []
        if age >= 65 and rng.random() < 0.8:
            identifiers.append(IdentifierInput(MBI_SYSTEM, self._mbi(), "Medicare beneficiary identifier"))
        if rng.random() < 0.08:
            identifiers.append(
                IdentifierInput(
                    f"urn:caredesk:legacy-mrn:{org.short_code}",
                    f"L{rng.randrange(10**7):07d}",
                    "Previous system MRN",
                )
            )
        return identifiers

    def _mbi(self) -> str:
        """The shape of a Medicare Beneficiary Identifier (CMS format), random: C A AN N A AN N A A N N."""
        rng = self.rng
        alnum = string.digits + MBI_LETTERS
        shape = ("123456789", MBI_LETTERS, alnum, string.digits, MBI_LETTERS, alnum, string.digits,
                 MBI_LETTERS, MBI_LETTERS, string.digits, string.digits)  # fmt: skip
        return "".join(rng.choice(chars) for chars in shape)

    def _related(self, place: Place, family: str, age: int) -> list[RelatedPersonInput]:
        rng = self.rng
        if age < 18:
            count = 1 if rng.random() < 0.6 else 2
            relationship = ["parent"] * count
            if rng.random() < 0.05:
                relationship = ["guardian"]
        elif rng.random() < (0.6 if age >= 65 else 0.35):
            options = ["spouse", "sibling", "friend", "other"] + (
                ["child", "child", "caregiver"] if age >= 50 else []
            )
            relationship = [rng.choice(options)]
        else:
            return []
        people = []
        for kind in relationship:
            female = rng.random() < 0.5
            given = rng.choice(self.data.female if female else self.data.male)
            same_family = kind in ("parent", "child", "sibling") or (kind == "spouse" and rng.random() < 0.6)
            surname = family if same_family else rng.choice(self.data.family)
            people.append(
                RelatedPersonInput(
                    name=f"{given} {surname}",
                    relationship=kind,
                    phone=self._phone(place),
                    email=self._email(given, surname) if rng.random() < 0.3 else "",
                )
            )
        return people

    def _near_duplicate(self, org: OrganizationSpec, original: PatientInput) -> PatientInput:
        """Same birth date, a name a registrar would take for the same person (rules.names_look_alike):
        accents not typed, a letter dropped or two swapped, a nickname, or simply the same name again."""
        rng = self.rng
        given, family = original.given_name, original.family_name
        variants: list[tuple[str, str]] = []
        if not (given + family).isascii():
            variants.append((unidecode(given), unidecode(family)))
        if len(family) > 4:
            cut = rng.randrange(1, len(family) - 1)
            variants.append((given, family[:cut] + family[cut + 1 :]))
            variants.append((given, family[:cut] + family[cut + 1] + family[cut] + family[cut + 2 :]))
        if given in _NICKNAMES:
            variants.append((_NICKNAMES[given], family))
        rng.shuffle(variants)
        original_keys = patient_rules.NameKeys(name_key(given), name_key(family))
        new_given, new_family = next(
            (
                (g, f)
                for g, f in variants
                if patient_rules.names_look_alike(
                    original_keys, patient_rules.NameKeys(name_key(g), name_key(f))
                )
            ),
            (given, family),
        )
        moved = rng.random() < 0.5
        place = rng.choice(self.data.places[org.state])
        keep_phone = rng.random() < 0.5
        return PatientInput(
            given_name=new_given,
            family_name=new_family,
            birth_date=original.birth_date,
            sex=original.sex,
            address_line1=f"{rng.randint(1, 2999)} {rng.choice(self.data.streets)}"
            if moved
            else original.address_line1,
            city=place.city if moved else original.city,
            state=org.state,
            postal_code=place.postal_code if moved else original.postal_code,
            telecoms=list(original.telecoms[:1]) if keep_phone else [TelecomInput(self._phone(place))],
        )

    # the chart ---------------------------------------------------------------------------------------

    def _chart(self, record: PatientRecord, *, featured: bool) -> None:
        rng = self.rng
        patient = record.patient
        age = _age_on(patient.birth_date, REFERENCE_DATE)
        visit_day = REFERENCE_DATE - dt.timedelta(days=rng.randrange(365))
        if patient.deceased_date is not None:
            visit_day = min(visit_day, patient.deceased_date)
        if featured:
            conditions = [c for c in catalog.CONDITIONS if c.code in ("E11.9", "I10", "E78.5")]
        else:
            conditions = self._conditions(age, patient.sex)
        for condition in conditions:
            onset_floor = patient.birth_date + dt.timedelta(days=365 * max(condition.min_age, 1))
            onset_floor = min(onset_floor, visit_day)
            span = (visit_day - onset_floor).days
            roll = rng.random()
            record.problems.append(
                ProblemRow(
                    icd10_code=condition.code,
                    description=catalog.DESCRIPTIONS[condition.code],
                    onset_date=onset_floor + dt.timedelta(days=rng.randrange(span + 1)),
                    clinical_status="active"
                    if roll < 0.92 or featured
                    else "inactive"
                    if roll < 0.97
                    else "resolved",
                )
            )
        record.medications.extend(self._medications(conditions, visit_day, featured=featured))
        allergy_count = 1 if featured else rng.choices((0, 1, 2), weights=_ALLERGY_COUNTS)[0]
        for substance, reactions, criticality in rng.sample(catalog.ALLERGIES, allergy_count):
            record.allergies.append(AllergyRow(substance, rng.choice(reactions), criticality))
        if featured or rng.random() < 0.85:
            record.observations.extend(self._vitals(age, patient.sex, conditions, visit_day))

    def _conditions(self, age: int, sex: str) -> list[catalog.Condition]:
        rng = self.rng
        band = "child" if age < 18 else "young" if age < 45 else "middle" if age < 65 else "senior"
        wanted = rng.choices(range(5), weights=_PROBLEM_COUNTS[band])[0]
        pool = [c for c in catalog.CONDITIONS if c.weight(age) > 0 and (not c.sex or c.sex == sex)]
        chosen: list[catalog.Condition] = []
        while pool and len(chosen) < wanted:
            pick = rng.choices(pool, weights=[c.weight(age) for c in pool])[0]
            chosen.append(pick)
            pool = [c for c in pool if c.group != pick.group]
        return chosen

    def _medications(
        self, conditions: Sequence[catalog.Condition], visit_day: dt.date, *, featured: bool
    ) -> list[MedicationRow]:
        rng = self.rng
        drugs: dict[str, catalog.Drug] = {}
        for condition in conditions:
            if not condition.drugs or (not featured and rng.random() < 0.2):
                continue
            how_many = 2 if len(condition.drugs) > 1 and rng.random() < 0.3 else 1
            for drug in rng.sample(condition.drugs, how_many):
                drugs.setdefault(drug.name, drug)
        return [
            MedicationRow(
                name=drug.name,
                dose=drug.dose,
                route=drug.route,
                frequency=drug.frequency,
                start_date=visit_day - dt.timedelta(days=rng.randrange(30, 3000)),
            )
            for drug in list(drugs.values())[:5]
        ]

    def _vitals(
        self, age: int, sex: str, conditions: Sequence[catalog.Condition], visit_day: dt.date
    ) -> list[ObservationRow]:
        rng = self.rng
        codes = {c.code for c in conditions}
        labs = {lab for c in conditions for lab in c.labs}
        at = dt.datetime.combine(visit_day, dt.time(13 + rng.randrange(8), rng.randrange(0, 60, 5)), dt.UTC)
        rows: list[ObservationRow] = []

        def add(kind: str, value: float, value2: float | None = None, places: str = "1") -> None:
            q = Decimal(places)
            rows.append(
                ObservationRow(
                    kind=kind,
                    value=Decimal(str(value)).quantize(q),
                    value2=None if value2 is None else Decimal(str(value2)).quantize(q),
                    effective_at=at,
                )
            )

        if age < 18:
            height = _CHILD_HEIGHT[age] * rng.uniform(0.93, 1.07)
            bmi = rng.uniform(14.5, 21.5) if "E66.9" not in codes else rng.uniform(24, 31)
            heart_rate = rng.randint(95, 140) if age < 2 else rng.randint(70, 115)
        else:
            height = rng.gauss(163 if sex == "female" else 177, 7)
            if codes & {"E66.01"}:
                bmi = rng.uniform(40, 48)
            elif codes & {"E66.9"}:
                bmi = rng.uniform(30, 39.5)
            else:
                bmi = min(max(rng.gauss(27, 4.5), 17.5), 29.9)
            heart_rate = rng.randint(56, 98)
        weight = bmi * (height / 100) ** 2
        if age >= 3:
            if "I10" in codes:
                systolic = rng.randint(128, 168)
            else:
                systolic = rng.randint(96, 132) if age >= 18 else rng.randint(90, 118)
            diastolic = min(rng.randint(58, 96), systolic - 25)
            add("blood_pressure", systolic, diastolic, "1")
        add("heart_rate", heart_rate, places="1")
        add("weight", weight, places="0.1")
        add("height", height, places="0.1")
        if age >= 2:
            add("bmi", weight / (height / 100) ** 2, places="0.1")
        if "hba1c" in labs:
            value = rng.uniform(5.7, 6.4) if "R73.03" in codes else rng.uniform(6.3, 10.5)
            add("hba1c", value, places="0.1")
        if "egfr" in labs:
            low, high = {"N18.31": (45, 59), "N18.32": (30, 44), "N18.4": (15, 29)}.get(
                next((c for c in codes if c.startswith("N18")), ""), (30, 59)
            )
            add("egfr", rng.randint(low, high), places="1")
        if "ldl" in labs and rng.random() < 0.6:
            add("ldl", rng.randint(60, 190), places="1")
        return rows


def _age_on(birth_date: dt.date, day: dt.date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def generate_patients(seed: int, count: int) -> Iterator[GeneratedPatient]:
    """`count` patients of the demo network in their fixed order (same seed, same patients)."""
    return PatientGenerator(seed).generate(count)
