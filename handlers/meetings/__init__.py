"""Doorstep meetings and polls in conversation: convening, details, managing, voting, and the
resident's side (RSVP, check-in)."""
