"""The public edge: ``/api/v1`` for machines, and verification for anyone holding a document.

- ``views``: ``/api/v1`` (JSON; errors are ``{"error": {"code", "message"}}``), ``/api/v1/verify``.
- ``verify_pages``: ``/verify`` and ``/verify/<code>`` for people, ``/pki/*`` (root and CRLs).
- ``verification``: the verification report of a PDF or a code, shared by the pages, the API and
  ``flask seals verify``.
"""
