"""Red-wrench volunteers (红扳手) and their tasks: the roster (skills, availability, service
records), tasks created from requests, the sweep that widens unclaimed ones, and a claimed
task's work and rating."""
