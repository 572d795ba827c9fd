"""Admins' broadcasts: draft, preview, send, progress."""
