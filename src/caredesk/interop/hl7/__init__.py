"""HL7 v2 over MLLP: the inbound ADT listener (`caredesk hl7_listen`).

- `wire`: bytes to text (UTF-8 BOM, CR / LF / CRLF segment separators) and HL7 escaping.
- `adt`: a parsed `hl7.Message` to the domain's `transitions.schemas` values; what it cannot read raises
  `Unreadable` with the acknowledgement code and HL7 error code to answer.
- `ack`: the ACK message (MSA, and ERR for AE/AR).
- `inbound`: MLLP blocks in, one ACK each out: parse, hand them to `transitions.services.receive_messages`
  (which stores and applies them in one transaction and commits), then build the acknowledgements.
- `server`: the asyncio MLLP server (python-hl7's `hl7.mllp`): the blocks waiting on all connections are
  applied as one batch by a worker thread; runnable in a thread for tests.

Business rules stay in `transitions`; this package only translates.
"""
