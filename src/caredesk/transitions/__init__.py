"""Transitions of care: encounters kept up to date from HL7 v2 ADT feeds, the inbound message log, and
Transitional Care Management (TCM) after a discharge home.

`interop.hl7` parses and acknowledges messages; it hands those waiting together to
`services.receive_messages`, which stores and applies them, in order, in one transaction. Tasks go onto
the worklist through `worklist.services`.
"""
