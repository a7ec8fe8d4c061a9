"""What the accounts domain tells others, without importing them (blinker, as Flask ships it).

Receivers run in the sender's transaction and only flush; they are connected when the app is
created (``app.workflow.signals.connect``).
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: sender: the Staff member, just created (flushed, with an id). The workflow queues the issue of
#: their seal certificate, which only the worker can sign.
staff_created = _signals.signal("staff-created")
