"""Background work, at the bottom of the house: imports nothing of the app but Core.

- ``models``: the ``jobs`` table, and the leased-work columns the delivery outbox reuses.
- ``queue``: ``enqueue`` in the caller's transaction, ``claim_one`` (conditional UPDATE, plus SKIP
  LOCKED on PostgreSQL), the retry policy (backoff with jitter, dead letters).
- ``worker``: the handler registry and the loop (``flask worker``). The worker owns the commit of
  each job: handlers only flush, like a request's services.
- ``wakeup``: an idle worker wakes when work is committed (LISTEN/NOTIFY, SQLite's commit counter).
- ``mail``: e-mail queued as a job, and the one mail transport (SMTP, or the development folder).

Domains above register what they run: job handlers by kind, and work sources of their own (the
delivery outbox) that the loop drives after the jobs.
"""
