"""The patient's plain-language copy of a care plan, as a PDF (reportlab's platypus layout)."""

from __future__ import annotations

import datetime as dt
import io
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from .choices import GoalStatus
from .selectors import PlanView

#: What each goal status means, in the words the patient copy uses.
STATUS_WORDS: dict[str, str] = {
    GoalStatus.MET: "On target",
    GoalStatus.NOT_MET: "Not on target yet",
    GoalStatus.NO_DATA: "Not measured yet",
    GoalStatus.STALE: "Needs a new measurement",
}


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def render_plan(*, plan: PlanView, patient_name: str, organization: str, today: dt.date) -> bytes:
    styles = getSampleStyleSheet()
    body, heading = styles["BodyText"], styles["Heading2"]
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=LETTER,
        title=f"{plan.plan.title} for {patient_name}",
        author=organization,
        leftMargin=0.8 * inch,
        rightMargin=0.8 * inch,
    )
    story: list[object] = [
        _p(f"Your {plan.plan.title.lower()}", styles["Title"]),
        _p(f"For {patient_name} · {organization} · printed {today:%B %d, %Y}", body),
        Spacer(1, 12),
        _p("Your goals", heading),
    ]
    rows = [["Goal", "Your latest result", "Where you stand"]]
    for goal in plan.goals:
        latest = (
            f"{goal.latest_value} {goal.goal.unit} on {goal.latest_on:%b %d, %Y}"
            if goal.latest_value is not None and goal.latest_on is not None
            else "—"
        )
        wording = goal.goal.description
        if goal.goal.due_on is not None:
            wording += f" (by {goal.goal.due_on:%B %d, %Y})"
        rows.append([_p(wording, body), _p(latest, body), _p(STATUS_WORDS[goal.status], body)])
    table = Table(rows, colWidths=[3.2 * inch, 1.8 * inch, 1.6 * inch], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story += [table, Spacer(1, 12), _p("What to do and when", heading)]
    for item in plan.activities:
        activity = item.activity
        when = f"next by {activity.due_on:%B %d, %Y}" if activity.due_on else "done"
        repeat = f", then every {activity.every_months} month(s)" if activity.every_months else ""
        story.append(_p(f"• {activity.description}: {when}{repeat}.", body))
    story += [Spacer(1, 12), _p("Your care team", heading)]
    story += [_p(f"• {line}", body) for line in plan.care_team_labels] or [_p("To be named.", body)]
    story += [
        Spacer(1, 12),
        _p(
            "Bring this sheet to your visits. Call your care team if you have questions or if you feel "
            "worse. In an emergency, call 911.",
            body,
        ),
    ]
    document.build(story)
    return buffer.getvalue()
