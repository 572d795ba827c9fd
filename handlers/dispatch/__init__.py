"""Recurring upkeep (红管家) set by stewards and admins: `/upkeep`."""
