"""The red whistle in conversation: `/whistle` and the summoned departments' answers."""
