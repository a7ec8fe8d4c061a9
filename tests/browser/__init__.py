"""Tests that drive real Chromium (Debian's /usr/bin/chromium) through Playwright."""
