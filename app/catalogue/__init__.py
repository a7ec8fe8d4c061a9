"""The form catalogue: what each form asks, as data.

A form *definition* is a versioned YAML document (pages, fields, conditions, the approval route) that
an administrator publishes with ``flask catalogue sync``; once published, a version never changes. A
*submission* (``app.submissions``) is one resident's answers to one definition version, which it pins
for ever. This package holds the definition format (``schema.json``, ``definition.py``), the Japanese
field rules shared by every form (``jp.py``, ``wareki.py``), the built-in definitions
(``definitions/``) and the service that publishes them (``service.py``). Nothing here stores answers.
"""
