"""What the submissions domain tells others, without importing them (blinker, as Flask ships it).

Receivers run in the sender's transaction and only flush; they are connected when the app is
created (``app.workflow.signals.connect``), and a test proves the connection through ``create_app``.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: sender: the Submission, just moved to withdrawn. The workflow ends the case's open approval tasks.
submission_withdrawn = _signals.signal("submission-withdrawn")
