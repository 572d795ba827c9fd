"""Channels: each turns vendor updates into `Incoming` and renders `Outgoing` back."""
