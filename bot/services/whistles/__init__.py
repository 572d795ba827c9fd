"""The red whistle (红响哨): a unit summons departments on a request, and their answers."""
