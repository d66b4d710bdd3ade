"""ASC X12 5010 for the HIPAA-adopted transactions Caredesk exchanges: so far eligibility (270 request,
271 response, 005010X279A1). `segments` reads and writes the syntax, `x270` builds requests, `x271` reads
answers, `codes` names the codes in plain words, `validation` checks what we generate, `clearinghouse`
moves files, and `exchange` is what the coverage app calls (coverage.exchange)."""
