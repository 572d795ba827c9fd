"""Joining and rights: onboarding (address, phone), invites, admins' commands, /privacy."""
