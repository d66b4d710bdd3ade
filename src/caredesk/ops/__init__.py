"""Operations: the periodic runner that queues every app's recurring background work.

django-tasks runs queued work (`caredesk db_worker`) but has no clock of its own. `caredesk periodic` is that
clock: each round it queues, per organization, the recurring tasks the domain apps define in their
`tasks.py` (reminders, waitlist sweep, referral and care-plan worklist rules). Like `demo`, it sits above the
domain apps and only calls their task functions.
"""
