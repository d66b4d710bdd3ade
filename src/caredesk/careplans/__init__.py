"""Care plans from condition templates, goal status from observations, recurring activities that become
worklist tasks when overdue, and Chronic Care Management (consent, monthly minutes, 99490/99439)."""
