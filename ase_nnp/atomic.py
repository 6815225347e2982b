"""Atomic file writes: a temporary file beside the target, flushed, renamed over it.

Every file ase-nnp writes (model, training cache, checkpoint, learning curve)
goes through :func:`atomic_path`, so a crash or Ctrl-C never leaves a
half-written file at the target path and never damages the previous one.
"""

import contextlib
import os
import tempfile


@contextlib.contextmanager
def atomic_path(path, suffix=".tmp"):
    """Yield a temporary path in ``path``'s folder. When the block succeeds the
    file is fsync'ed, given the usual permissions (0666 & ~umask; mkstemp makes
    0600) and renamed over ``path``; on any failure, Ctrl-C included, it is
    removed and ``path`` stays as it was."""
    path = os.fspath(path)
    fd, tmp = tempfile.mkstemp(prefix=".", suffix=suffix,
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
