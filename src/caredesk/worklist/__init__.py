"""The worklist: the coordinator's tasks (app label `worklist`).

The app is called `worklist`, not `tasks`: a background-job library (django-tasks, Django's own
`django.tasks`) may join the project later, and STYLE.md already gives every app a `tasks.py` module for its
background jobs, so `caredesk.tasks` / label "tasks" would read as, and could clash with, that. The model is
still `Task`.

Other apps create tasks through `services.create_task` with a `dedupe_key` (unique per organization), so
the same event never creates the same task twice, and close them with `services.close_tasks_by_keys`.
"""
