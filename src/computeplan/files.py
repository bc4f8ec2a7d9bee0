"""Writing output files without losing data: check first, then write atomically.

Every file computeplan writes (law files, plots, HTML/PNG reports, fit outputs, any ``--out``)
goes through :func:`write_atomic`: the data is written to a temporary file in the destination's
directory, flushed to disk (``fsync``) and renamed over the destination with :func:`os.replace`,
which is atomic on POSIX and Windows. A failed write (full disk, ``ulimit -f``, a killed process)
leaves the old file intact and removes the temporary file.

:func:`check_output` runs before any slow work: it refuses a directory, a missing or read-only
directory, a name longer than the file system allows, and a path that is one of the command's
inputs (``computeplan fit r.csv --out r.csv`` would replace the data with the law). It returns
whether the file exists, so that a shell can say when it replaces one (the CLI prints
``note: replaced existing file ...`` on stderr).

A new command with an output option (e.g. a future ``sweep --out``) calls :func:`check_output`
before its work and :func:`write_atomic` after it; the CLI's :class:`~computeplan.cli.app.Output`
does both and prints the note.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from .errors import InputError
from .vocabulary import option

#: Longest file name (one path component) in bytes where the file system does not say.
DEFAULT_NAME_MAX = 255


#: Most characters of a file name echoed in a message.
MAX_SHOWN_NAME = 120


def shown_path(path) -> str:
    """``repr`` of a file name for a message, cut to :data:`MAX_SHOWN_NAME` characters (a name
    may be thousands of bytes)."""
    text = repr(os.fsdecode(path)) if isinstance(path, str | bytes | os.PathLike) else repr(path)
    return text if len(text) <= MAX_SHOWN_NAME else text[:MAX_SHOWN_NAME - 4] + "...'"


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _name_max(directory: Path) -> int:
    try:
        return int(os.pathconf(directory, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):
        return DEFAULT_NAME_MAX


def _same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name the same file (the same inode when both exist)."""
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        try:
            return os.path.realpath(a) == os.path.realpath(b)
        except (OSError, ValueError):
            return False


def check_output(path: str | os.PathLike, *, flag: str | None = None,
                 inputs: Iterable[str | os.PathLike | None] = ()) -> bool:
    """Check that ``path`` can be written without harm before any slow work; return whether it
    exists (and would be replaced).

    Raises :class:`InputError` naming ``flag`` when the path is a directory, its directory is
    missing or not writable, a name in it is too long for the file system, or it is the same
    file as one of ``inputs`` (``None`` entries are ignored). ``flag`` is the option as the
    shell spells it (default: the ``out`` option, :func:`computeplan.vocabulary.option`)."""
    flag = flag or option("out")
    p = Path(path)
    shown = repr(str(p))[:200]
    if not str(path):
        raise InputError(f"{flag}: the file name is empty")
    parent = p.parent if str(p.parent) else Path(".")
    limit = _name_max(parent if parent.is_dir() else Path("."))
    for part in p.parts:
        if len(os.fsencode(part)) > limit:
            raise InputError(f"{flag}: cannot write {shown}: a name in it is "
                             f"{len(os.fsencode(part))} bytes long; at most {limit} allowed")
    try:
        if p.is_dir():
            raise InputError(f"{flag}: cannot write {shown}: it is a directory")
        if not parent.is_dir():
            raise InputError(f"{flag}: cannot write {shown}: no directory {str(parent)!r}")
        if not os.access(parent, os.W_OK):
            raise InputError(f"{flag}: cannot write {shown}: directory {str(parent)!r} is not "
                             "writable")
        exists = os.path.lexists(p)
    except OSError as exc:
        raise InputError(f"{flag}: cannot write {shown}: {_reason(exc)}") from None
    for other in inputs:
        if other is not None and str(other) and _same_file(p, Path(other)):
            raise InputError(f"{flag}: refusing to overwrite {shown}: it is an input of this "
                             "command; choose another file name")
    return exists


def write_atomic(path: str | os.PathLike, data: bytes | str, *, flag: str | None = None) -> bool:
    """Write ``data`` (text is UTF-8 encoded) to ``path`` atomically; return whether an existing
    file was replaced (see :func:`write_atomic_with`)."""
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    return write_atomic_with(path, lambda tmp: tmp.write_bytes(payload), flag=flag)


def write_atomic_with(path: str | os.PathLike, write: Callable[[Path], object], *,
                      flag: str | None = None) -> bool:
    """Have ``write(tmp)`` write a temporary file in ``path``'s directory, then rename it over
    ``path`` atomically; return whether an existing file was replaced.

    For writers that want a path of their own (Parquet, NumPy archives). The temporary file is
    ``fsync``-ed before the rename (a symbolic link is followed: its target is replaced). The
    new file keeps an existing file's permission bits; a new one gets the usual
    ``0o666 & ~umask``. On any failure the temporary file is removed, the old file is left as
    it was and :class:`InputError` says so, naming ``flag`` (default: the ``out`` option)."""
    flag = flag or option("out")
    p = Path(path)
    shown = repr(str(p))[:200]
    try:
        target = Path(os.path.realpath(p)) if p.is_symlink() else p
        old = os.stat(target) if os.path.lexists(target) else None
    except OSError as exc:
        raise InputError(f"{flag}: cannot write {shown}: {_reason(exc)}") from None
    directory = target.parent if str(target.parent) else Path(".")
    import secrets

    tmp = directory / f".computeplan-{secrets.token_hex(8)}.tmp"
    try:  # reserve the name (O_EXCL), so that no other writer can share it
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as exc:
        raise InputError(f"{flag}: cannot write {shown}: {_reason(exc)}") from None
    try:
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        if old is not None:
            os.chmod(tmp, old.st_mode & 0o7777)
        os.replace(tmp, target)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if not isinstance(exc, OSError):
            raise
        kept = f"{shown} is unchanged" if old is not None else "nothing was written"
        raise InputError(f"{flag}: cannot write {shown}: {_reason(exc)}; {kept}") from None
    _sync_directory(directory)
    return old is not None


def _sync_directory(directory: Path) -> None:
    """Flush the rename to disk where the platform allows (best effort)."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot fsync a directory
        pass
    finally:
        os.close(fd)
