"""Writing files atomically: every file the project writes goes through `write_atomic`.

The bytes go to a temporary file in the destination's folder (a short name, so any
destination name the system allows works), are flushed to disk, and only then renamed
over the destination: a full disk, a crash or an interrupt leaves the old file as it
was, never a truncated one. The result behaves like a file written with `open()`:

- a new file gets the usual permissions (0666 less the umask); an existing one keeps its
  mode (and, where the system allows, its owner and group);
- a symlink is followed: its target is replaced and the link stays (a file with several
  hard links is replaced, so its other names keep the old content);
- a destination that exists but is not a regular file (a folder, a device such as
  /dev/null, a FIFO, a socket) is refused, never replaced;
- missing parent folders are created.

Errors name the destination the caller gave, never the temporary file. `check_writable`
finds the usual problems before any work is done (e.g. before a training run).
"""
from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from pathlib import Path

__all__ = ["NotARegularFileError", "write_atomic", "check_writable"]


class NotARegularFileError(OSError):
    """The destination exists and is a folder, device, FIFO or socket: it is never replaced."""

    def __str__(self) -> str:
        return f"{self.filename}: {self.strerror}"


def _kind(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
             (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def _oserror(code: int, path: str | os.PathLike, message: str | None = None) -> OSError:
    """The OSError subclass Python raises for `code` (PermissionError, ...), naming `path`."""
    return OSError(code, message or os.strerror(code), str(path))


def _destination(path: str | os.PathLike) -> tuple[Path, os.stat_result | None]:
    """The file that will really be replaced (symlinks followed) and its stat, if it exists."""
    real = Path(os.path.realpath(path))
    try:
        info = os.lstat(real)
    except (FileNotFoundError, NotADirectoryError):  # missing, or a file in the way: see below
        return real, None
    except OSError as error:  # e.g. a folder on the way that cannot be searched
        raise _oserror(error.errno, path) from None
    if stat.S_ISLNK(info.st_mode):  # realpath stops at a symlink loop
        raise _oserror(errno.ELOOP, path)
    if not stat.S_ISREG(info.st_mode):
        kind = _kind(info.st_mode)
        advice = "give a file name inside it" if kind == "a folder" else "refusing to replace it"
        raise NotARegularFileError(errno.EEXIST, f"it is {kind}, not a regular file; {advice}", str(path))
    return real, info


def check_writable(path: str | os.PathLike) -> Path:
    """Raise now the error `write_atomic(path, ...)` would raise about the destination:
    not a regular file, a parent that is not a folder, no write permission, a name too
    long. Changes nothing on disk. Returns `Path(path)`."""
    real, _ = _destination(path)
    folder = _existing_folder(real, path)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise _oserror(errno.EACCES, path, f"no permission to write in {folder}")
    try:
        name_max = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        name_max = 255
    if len(os.fsencode(real.name)) > name_max:
        raise _oserror(errno.ENAMETOOLONG, path)
    return Path(path)


def _existing_folder(real: Path, path: str | os.PathLike) -> Path:
    """The nearest folder above `real` that exists (write_atomic makes the rest), or an
    error if what is there is a file."""
    folder = real.parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise _oserror(errno.ENOTDIR, path, f"{folder} is not a folder")
    return folder


def write_atomic(path: str | os.PathLike, data: bytes | str, *, encoding: str = "utf-8") -> Path:
    """Write `data` (str is encoded with `encoding`) to `path` atomically. Returns `Path(path)`."""
    payload = data.encode(encoding) if isinstance(data, str) else bytes(data)
    real, existing = _destination(path)
    try:
        _existing_folder(real, path)  # a file in the way is named as such
        real.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _create_temporary(real)
    except OSError as error:
        raise _renamed(error, path) from None
    try:
        try:
            if existing is not None:
                _keep_mode_and_owner(fd, existing)
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, real)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(error, OSError):
            raise _renamed(error, path) from None
        raise
    _sync_folder(real.parent)
    return Path(path)


def _create_temporary(real: Path) -> tuple[int, Path]:
    """A new file next to `real`, created like open() would (mode 0666 less the umask)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = real.with_name(f".{real.name[:24]}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise _oserror(errno.EEXIST, real, "could not find a free temporary name")


def _keep_mode_and_owner(fd: int, existing: os.stat_result) -> None:
    os.fchmod(fd, stat.S_IMODE(existing.st_mode))
    mine = os.fstat(fd)
    if (mine.st_uid, mine.st_gid) != (existing.st_uid, existing.st_gid):
        with contextlib.suppress(OSError):  # only the owner's group, or root, may
            os.fchown(fd, existing.st_uid, existing.st_gid)


def _renamed(error: OSError, path: str | os.PathLike) -> OSError:
    """The same error about the caller's `path` (not our temporary file or folder)."""
    if error.errno is None or isinstance(error, NotARegularFileError):
        return error
    return _oserror(error.errno, path, error.strerror)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (best effort: not every system can open a folder)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
