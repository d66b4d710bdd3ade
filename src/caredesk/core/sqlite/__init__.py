"""Caredesk's SQLite backend: Django's, with writers of one process taking turns (see base.py)."""
