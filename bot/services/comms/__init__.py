"""Pushes: outbox rows per reachable identity (`notify`) and admins' broadcasts."""
