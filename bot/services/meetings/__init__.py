"""Doorstep meetings (红马扎) and household polls: convening, RSVP, check-in, minutes and
outcome; ballots and the pure decision rules; reminders; printable notices; the cards they push."""
