"""Dispatch and deadlines: which unit owns a request (routing over buildings, grid polygons
and compounds), its deadlines (SLA), reminders before them, escalation past them, and the
recurring upkeep requests of compounds without a property company."""
