"""Files and backups: uploaded photos and what refers to them, and database backup/restore."""
