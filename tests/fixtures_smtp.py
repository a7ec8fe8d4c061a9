"""A real SMTP server on loopback (aiosmtpd) for the tests that read what the service sent."""
