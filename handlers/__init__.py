"""Conversation flows per role; no channel imports here."""
