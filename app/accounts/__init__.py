"""Residents, staff, offices (課), roles and sessions."""
