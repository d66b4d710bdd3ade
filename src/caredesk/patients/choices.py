from django.db import models


class AdministrativeSex(models.TextChoices):
    """FHIR administrative-gender."""

    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Unknown"


class PatientStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    DECEASED = "deceased", "Deceased"
    MERGED = "merged", "Merged into another record"


class TelecomSystem(models.TextChoices):
    PHONE = "phone", "Phone"
    SMS = "sms", "SMS"
    FAX = "fax", "Fax"


class TelecomUse(models.TextChoices):
    HOME = "home", "Home"
    MOBILE = "mobile", "Mobile"
    WORK = "work", "Work"


class ContactRelationship(models.TextChoices):
    SPOUSE = "spouse", "Spouse or partner"
    PARENT = "parent", "Parent"
    CHILD = "child", "Child"
    SIBLING = "sibling", "Sibling"
    GUARDIAN = "guardian", "Legal guardian"
    CAREGIVER = "caregiver", "Caregiver"
    FRIEND = "friend", "Friend"
    OTHER = "other", "Other"


class EntryStatus(models.TextChoices):
    CURRENT = "current", "Current"
    SUPERSEDED = "superseded", "Superseded by a correction"
    ENTERED_IN_ERROR = "entered_in_error", "Entered in error"


class AllergyCriticality(models.TextChoices):
    LOW = "low", "Low"
    HIGH = "high", "High"
    UNABLE = "unable-to-assess", "Unable to assess"


class ObservationKind(models.TextChoices):
    BLOOD_PRESSURE = "blood_pressure", "Blood pressure"
    HEART_RATE = "heart_rate", "Heart rate"
    RESPIRATORY_RATE = "respiratory_rate", "Respiratory rate"
    TEMPERATURE = "temperature", "Body temperature"
    WEIGHT = "weight", "Body weight"
    HEIGHT = "height", "Body height"
    BMI = "bmi", "BMI"
    SPO2 = "spo2", "Oxygen saturation"
    HBA1C = "hba1c", "Hemoglobin A1c"
    LDL = "ldl", "LDL cholesterol"
    EGFR = "egfr", "eGFR"
