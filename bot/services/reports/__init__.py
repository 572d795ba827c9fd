"""What admins read: the three rates and rankings, charts, spreadsheets, and the scheduled
digests and weekly report."""
