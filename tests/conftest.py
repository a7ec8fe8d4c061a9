"""The test suite's fixtures live in tests/support/plugin.py (and its helpers beside it), loaded here."""

pytest_plugins = ["tests.support.plugin"]
