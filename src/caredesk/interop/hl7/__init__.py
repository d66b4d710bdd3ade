"""HL7 v2 over MLLP: the inbound ADT listener (`caredesk hl7_listen`).

- `wire`: bytes to text (UTF-8 BOM, CR / LF / CRLF segment separators) and HL7 escaping.
- `adt`: a parsed `hl7.Message` to the domain's `transitions.schemas` values; what it cannot read raises
  `Unreadable` with the acknowledgement code and HL7 error code to answer.
- `ack`: the ACK message (MSA, and ERR for AE/AR).
- `inbound`: one MLLP block in, one ACK out: parse, hand to `transitions.services.receive_message` (which
  stores and applies the message and commits), then build the acknowledgement.
- `server`: the asyncio MLLP server (python-hl7's `hl7.mllp`), runnable in a thread for tests.

Business rules stay in `transitions`; this package only translates.
"""
