"""Red-wrench volunteers (红扳手) and their tasks: the roster (skills, availability, service
records), tasks created from requests, and a claimed task's work and rating."""
