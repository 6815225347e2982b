"""Atomic file writes: a temporary file beside the target, flushed, renamed over it.

Every file ase-nnp writes (model, training cache, checkpoint, learning curve)
goes through :func:`atomic_path`, so a crash or Ctrl-C never leaves a
half-written file at the target path and never damages the previous one.

The temporary file is ``.<target name>.XXXXXXXX<suffix>`` (eight characters of
:func:`tempfile.mkstemp`) in the target's folder. A process killed outright
(``kill -9``, a node failure) cannot remove it, so each write first removes the
temporaries *of the same target* that match exactly that pattern and have not
been modified for :data:`STALE_SECONDS`; nothing else is ever deleted.
"""

import contextlib
import os
import re
import tempfile
import time

#: a temporary file untouched for this long belongs to a process that died
STALE_SECONDS = 3600.0


def _temporary_pattern(name, suffix):
    return re.compile(r"\." + re.escape(name) + r"\.[A-Za-z0-9_]{8}" + re.escape(suffix) + r"\Z")


def remove_stale_temporaries(path, suffix=".tmp", age=STALE_SECONDS):
    """Remove ``.<name>.XXXXXXXX<suffix>`` files beside ``path`` older than ``age`` seconds;
    return the paths removed."""
    folder = os.path.dirname(os.path.abspath(path))
    pattern = _temporary_pattern(os.path.basename(path), suffix)
    now = time.time()
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not pattern.match(entry.name):
            continue
        try:
            if entry.is_file(follow_symlinks=False) and \
                    now - entry.stat(follow_symlinks=False).st_mtime > age:
                os.remove(entry.path)
                removed.append(entry.path)
        except OSError:          # removed meanwhile by another process, or not ours to remove
            pass
    return removed


@contextlib.contextmanager
def atomic_path(path, suffix=".tmp"):
    """Yield a temporary path in ``path``'s folder. When the block succeeds the
    file is fsync'ed, given the usual permissions (0666 & ~umask; mkstemp makes
    0600) and renamed over ``path``; on any failure, Ctrl-C included, it is
    removed and ``path`` stays as it was."""
    path = os.fspath(path)
    remove_stale_temporaries(path, suffix)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=suffix,
                               dir=os.path.dirname(os.path.abspath(path)))
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
