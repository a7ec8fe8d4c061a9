"""The audit ledger: an append-only, hash-chained record of who did what to which record.

Every state change, every staff view of a case and every read of a sensitive field (My Number) appends
one event in the same transaction as the change it records (``service.record``). Events carry ids,
action names, state names and hashes only, never personal data, so the ledger never has to be
rewritten for a deletion duty.

- ``chain``: the canonical serialisation, the entry hash and the payload rules (no Flask, no database).
- ``models``: the ``audit_events`` table.
- ``service``: ``record``, ``verify_chain``, ``events_for_subject``, checkpoints from the app's key.
- ``checkpoint``: signed checkpoints (C2SP signed-note format, Ed25519), kept outside the database.
- ``cli``: ``flask audit verify | checkpoint | pubkey``.
"""
