"""TEST ONLY fault points: a worker that SIGKILLs itself where ``MADOGUCHI_FAULT_INJECTION`` says.

The crash tests prove that a worker killed at the worst moment (a power cut, the OOM killer) loses
and half-does nothing: ``after_claim`` and ``after_send`` in the delivery outbox (app/delivery/outbox.py),
every time; ``mid_seal`` in a document's first seal, after the signature is made and the new revision
stored, before the job commits (app/workflow/sealing.py), on the job's first attempt only, so the
worker that takes the job over after its lease runs it through. app.config refuses the setting in
production.
"""

from __future__ import annotations

import os
import signal
from contextvars import ContextVar

from flask import current_app

#: Points that fire on a job's first attempt only.
FIRST_ATTEMPT_ONLY = frozenset({"mid_seal"})
#: The attempt of the job this worker is running (set by app.jobs.worker.run_job).
job_attempt: ContextVar[int | None] = ContextVar("job_attempt", default=None)


def fault_point(name: str) -> None:
    """SIGKILL this process if the fault injection names this point: not an exception, so nothing cleans up."""
    if current_app.config.get("MADOGUCHI_FAULT_INJECTION") != name:
        return
    if name in FIRST_ATTEMPT_ONLY and job_attempt.get() != 1:
        return
    os.kill(os.getpid(), signal.SIGKILL)
