"""Red-wrench volunteers in conversation: registration, task pushes, /mytasks, /myhours, /team."""
