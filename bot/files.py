"""Files redgrid writes (database, backups, exports, notices): owner-only whatever the umask.

They hold residents' names, phone numbers and addresses: another account on the machine must
not read them. Folders are 0700 and files 0600, set explicitly, because the process umask is
whatever the service manager or shell gave it.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(folder: Path) -> Path:
    """Create `folder` and its missing parents owner-only. A folder that exists is left as
    it is: the operator chose it (a backup may go to /tmp or a mounted share)."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    folder.mkdir(parents=True, exist_ok=True)
    for created in missing:
        os.chmod(created, PRIVATE_DIR)  # mkdir's mode is masked by the umask
    return folder


def private_file(path: Path) -> Path:
    """Create `path` empty and owner-only if it is missing, else make it owner-only."""
    private_dir(path.parent)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE)
    try:
        os.fchmod(descriptor, PRIVATE_FILE)  # os.open's mode is masked by the umask
    finally:
        os.close(descriptor)
    return path


def write_private(path: Path, content: bytes) -> Path:
    """Write `content` to `path` (replacing it) in an owner-only file and folder."""
    private_file(path)
    with path.open("r+b") as file:
        file.truncate(0)
        file.write(content)
    return path


def make_private(path: Path) -> None:
    """Make an existing file owner-only (one another tool created)."""
    if path.exists():
        os.chmod(path, PRIVATE_FILE)


def expire(folder: Path, *, before: datetime) -> int:
    """Delete the files under `folder` last written before `before`, then the folders left
    empty; returns how many files went."""
    if not folder.is_dir():
        return 0
    cutoff = before.timestamp()
    removed = 0
    for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_symlink() or path.is_file():
            if path.lstat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
        elif path.is_dir() and not any(path.iterdir()):
            shutil.rmtree(path, ignore_errors=True)
    return removed
