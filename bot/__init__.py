"""redgrid: residents' requests carried to the grid that must act, and back until solved."""

__version__ = "0.1.0"
