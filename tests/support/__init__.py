"""Test support for the permission matrix and the audit-coverage test.

- `endpoints`: every URL the application answers (the root URL resolver, nested includes, the JSON API and
  FHIR), each with the permission it declares.
- `world`: two organizations, a user of every role in each, and one sample of each thing a URL can name
  (a patient with a full chart, a practitioner, ...), with helpers to call an endpoint as any of them.
- `samples`: what to put in each URL keyword (`patient_id` -> the sample patient's id, ...). A URL with a
  keyword that has no sample fails the matrix with a message saying what to add here.
- `expectations`: the few answers that are not the default (a view that redirects, audit-trail pages).
"""
