"""Printed documents: HTML → PDF/A-3b with a locked-down fetcher, seal imprints, QR and verification codes.

``pdf``, ``imprint`` and ``codes`` have no Flask imports; ``service`` wires them to submissions.
"""
