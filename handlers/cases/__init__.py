"""Requests in conversation: reporting, a resident's own requests, rating, and the staff's
queue, card actions, work and calls for help."""
