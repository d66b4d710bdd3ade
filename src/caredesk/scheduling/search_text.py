"""Booking from a sentence: "next new-patient cardiology visit near Riverside, Tuesday mornings".

Deterministic word matching against the organization's own names, no guessing beyond them: visit-type
names and codes, practitioners' family names and specialties, location names and towns, "new patient",
"telehealth"/"video", weekdays and parts of the day. The result says what was understood and which
words were not, so the person can correct the form. Pure: the caller passes the vocabulary in.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field

# Words that carry no criterion here (articles, "next", "visit" ...).
FILLER = frozenset(
    (
        "a", "an", "the", "next", "first", "earliest", "soonest", "asap", "any", "some", "please", "book",
        "booking", "schedule", "find", "me", "my", "visit", "visits", "appointment", "appointments", "slot",
        "slots", "time", "times", "for", "with", "at", "in", "on", "near", "by", "to", "of", "and", "or",
        "from", "around", "close", "dr", "doctor", "doc", "clinic", "available", "opening", "openings",
    )
)  # fmt: skip
# Words in many places' names that say nothing about which place.
GENERIC_PLACE_WORDS = frozenset(
    {"health", "center", "centre", "medical", "group", "hospital", "unit", "care"}
)
TELEHEALTH = frozenset({"telehealth", "video", "virtual", "online", "remote", "telemedicine", "televisit"})
IN_PERSON = frozenset({"person", "inperson", "office"})
WEEKDAY_WORDS = {
    name: index
    for index, names in enumerate(
        (
            ("monday", "mon", "mondays"),
            ("tuesday", "tue", "tues", "tuesdays"),
            ("wednesday", "wed", "wednesdays"),
            ("thursday", "thu", "thur", "thurs", "thursdays"),
            ("friday", "fri", "fridays"),
            ("saturday", "sat", "saturdays"),
            ("sunday", "sun", "sundays"),
        )
    )
    for name in names
}
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
PARTS_OF_DAY = {
    "morning": (None, dt.time(11, 59)),
    "mornings": (None, dt.time(11, 59)),
    "am": (None, dt.time(11, 59)),
    "afternoon": (dt.time(12, 0), dt.time(16, 59)),
    "afternoons": (dt.time(12, 0), dt.time(16, 59)),
    "pm": (dt.time(12, 0), None),
    "evening": (dt.time(17, 0), None),
    "evenings": (dt.time(17, 0), None),
}
STEM = 6  # "cardiologist" and "cardiology" share their first six letters


@dataclass(frozen=True)
class VisitTypeWords:
    id: int
    name: str
    code: str
    eligibility: str  # "any", "new", "established"
    modality: str  # "in_person", "telehealth", "either"


@dataclass(frozen=True)
class PractitionerWords:
    id: int
    given_name: str
    family_name: str
    specialty: str  # value, e.g. "cardiology"
    specialty_label: str


@dataclass(frozen=True)
class LocationWords:
    id: int
    name: str
    city: str


@dataclass(frozen=True)
class Vocabulary:
    visit_types: list[VisitTypeWords]
    practitioners: list[PractitionerWords]
    locations: list[LocationWords]


@dataclass
class Understood:
    """What a sentence asks for. `practitioner_ids` empty: anyone who offers the visit type."""

    text: str
    visit_type_id: int | None = None
    practitioner_ids: list[int] = field(default_factory=list)
    location_id: int | None = None
    modality: str | None = None
    weekdays: frozenset[int] | None = None
    earliest: dt.time | None = None
    latest: dt.time | None = None
    understood: list[str] = field(default_factory=list)  # for people: "visit type: New patient visit"
    unknown: list[str] = field(default_factory=list)  # words that matched nothing
    problems: list[str] = field(default_factory=list)  # e.g. "Which visit type?"


def words(text: str) -> list[str]:
    """Lower-case ASCII words (accents folded); "new-patient" is two words."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return [w for w in re.split(r"[^a-z0-9]+", folded) if w]


def _stem(word: str) -> str:
    return word[:STEM] if len(word) >= STEM else word


def _name_words(*texts: str) -> set[str]:
    return {w for text in texts for w in words(text) if w not in FILLER and len(w) > 1}


def _best(scores: dict[int, int]) -> tuple[int | None, list[int]]:
    """The single best-scoring id (None on a tie or no score) and every id with the top score."""
    top = max(scores.values(), default=0)
    if top == 0:
        return None, []
    leaders = sorted(i for i, s in scores.items() if s == top)
    return (leaders[0] if len(leaders) == 1 else None), leaders


def understand(text: str, vocabulary: Vocabulary) -> Understood:
    result = Understood(text=text.strip())
    tokens = words(text)
    used: set[str] = set()

    # "new patient", "telehealth", weekdays, parts of the day
    new_patient = "new" in tokens
    if new_patient:
        used.add("new")
        if "patient" in tokens:
            used.add("patient")
    if "in" in tokens and "person" in tokens:
        result.modality = "in_person"
        used.update({"in", "person"})
    for token in tokens:
        if token in TELEHEALTH:
            result.modality = "telehealth"
            used.add(token)
        elif token in IN_PERSON and result.modality is None:
            result.modality = "in_person"
            used.add(token)
    days = {WEEKDAY_WORDS[t] for t in tokens if t in WEEKDAY_WORDS}
    if "weekend" in tokens or "weekends" in tokens:
        days |= {5, 6}
        used.update({"weekend", "weekends"})
    if "weekday" in tokens or "weekdays" in tokens:
        days |= set(range(5))
        used.update({"weekday", "weekdays"})
    if days:
        result.weekdays = frozenset(days)
        used.update(t for t in tokens if t in WEEKDAY_WORDS)
    for token in tokens:
        if token in PARTS_OF_DAY:
            result.earliest, result.latest = PARTS_OF_DAY[token]
            used.add(token)

    # practitioners by family name, then by specialty ("cardiology", "cardiologist")
    stems = {_stem(t) for t in tokens if len(t) >= 4}
    named = [
        p for p in vocabulary.practitioners if words(p.family_name) and words(p.family_name)[-1] in tokens
    ]
    specialty_hits: dict[str, str] = {}
    for p in vocabulary.practitioners:
        label_words = [w for w in words(p.specialty_label) if len(w) >= 4]
        if label_words and all(_stem(w) in stems for w in label_words):
            specialty_hits[p.specialty] = p.specialty_label
    if named:
        result.practitioner_ids = sorted(p.id for p in named)
        used.update(words(p.family_name)[-1] for p in named)
        for p in named:
            result.understood.append(f"practitioner: {p.given_name} {p.family_name}")
    elif specialty_hits:
        result.practitioner_ids = sorted(
            p.id for p in vocabulary.practitioners if p.specialty in specialty_hits
        )
        for label in specialty_hits.values():
            result.understood.append(f"specialty: {label}")
            used.update(t for t in tokens if _stem(t) in {_stem(w) for w in words(label)})

    # the location, by the words of its name or town
    free = set(tokens) - used - GENERIC_PLACE_WORDS
    location_scores = {loc.id: len(_name_words(loc.name, loc.city) & free) for loc in vocabulary.locations}
    location_id, leaders = _best(location_scores)
    by_id = {loc.id: loc for loc in vocabulary.locations}
    if location_id is not None:
        result.location_id = location_id
        result.understood.append(f"location: {by_id[location_id].name}")
    elif leaders:
        result.understood.append(
            "location: any of " + ", ".join(by_id[i].name for i in leaders) + " (name one more precisely)"
        )
    for loc_id in leaders:
        used.update(_name_words(by_id[loc_id].name, by_id[loc_id].city) & free)

    # the visit type, by the words of its name and code; "new patient" and "telehealth" break ties
    def score(vt: VisitTypeWords) -> int:
        name_words = _name_words(vt.name, vt.code)
        matched = len(name_words & set(tokens))
        return (
            (matched * 4 - (len(name_words) - matched) if matched else 0)
            + (2 if new_patient and vt.eligibility == "new" else 0)
            + (1 if result.modality == "telehealth" and vt.modality in ("telehealth", "either") else 0)
        )

    vt_scores = {vt.id: score(vt) for vt in vocabulary.visit_types}
    visit_type_id, vt_leaders = _best(vt_scores)
    vt_by_id = {vt.id: vt for vt in vocabulary.visit_types}
    if visit_type_id is not None:
        result.visit_type_id = visit_type_id
        chosen = vt_by_id[visit_type_id]
        result.understood.insert(0, f"visit type: {chosen.name}")
        used.update(_name_words(chosen.name, chosen.code) & set(tokens))
    elif vt_leaders:
        names = ", ".join(vt_by_id[i].name for i in vt_leaders)
        result.problems.append(f"Which visit type: {names}?")
    else:
        result.problems.append("Which visit type? Name one (for example “follow-up” or “new patient”).")
    if new_patient:
        result.understood.append("a new patient")
    if result.modality == "telehealth":
        result.understood.append("by video (telehealth)")
    elif result.modality == "in_person":
        result.understood.append("in person")
    if result.weekdays is not None:
        result.understood.append("days: " + ", ".join(DAY_NAMES[d] for d in sorted(result.weekdays)))
    if result.earliest or result.latest:
        result.understood.append(
            "starting "
            + (f"from {result.earliest:%H:%M} " if result.earliest else "")
            + (f"until {result.latest:%H:%M}" if result.latest else "")
        )
    result.unknown = [t for t in dict.fromkeys(tokens) if t not in used and t not in FILLER]
    return result
