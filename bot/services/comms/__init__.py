"""Pushes: outbox rows per reachable identity (`notify`) and admins' broadcasts, whose
progress a sweep follows."""
