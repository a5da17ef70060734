# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Writing a properties file safely: the temporary file, its lock, the rename, the leftovers.

:func:`write_atomically` is the write path of ``agent_properties``: a backup when asked, a
locked, fsync'ed temporary file next to the target (:func:`write_temp`, mode 0600), renamed
over the target by ``AnsibleModule.atomic_move`` (which keeps owner, group, mode and SELinux
context of an existing file and honours ``unsafe_writes``), then the directory fsync'ed.
The temporary files a killed run left behind hold the new text, secrets included:
:func:`remove_leftover_temps` takes them away, never one a running run still holds (its lock).
"""

import errno
import fcntl
import os
import re
import stat
import tempfile

from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import ModuleError
from ansible_collections.cloudstack.ovs.plugins.module_utils.properties import (
    ENCODING,
    read_file,
)

# Our temporary files: ".<name>.<8 mkstemp characters>.tmp" next to the file.
TEMP_SUFFIX = '.tmp'
_MKSTEMP_CHARS = '[a-z0-9_]{8}'
# atomic_move gives a file it creates 0666 & ~umask; this umask keeps the new file
# private (0600) until its mode is set.
PRIVATE_UMASK = 0o177


def temp_name_re(path):
    """The names :func:`write_temp` gives its temporary files for ``path`` (the same
    pattern earlier versions used, so their leftovers are recognised too)."""
    name = re.escape(os.path.basename(path))
    return re.compile(r'\A\.%s\.%s%s\Z' % (name, _MKSTEMP_CHARS, re.escape(TEMP_SUFFIX)))


def write_temp(path, text, encoding=ENCODING):
    """Write ``text`` (in ``encoding``) to a new temporary file (mode 0600) next to ``path``,
    fsync'ed.

    Returns ``(fd, tmp)``: the file stays open and ``flock``'ed until the caller closes
    ``fd`` after the rename, so :func:`remove_leftover_temps` of another run never takes
    a temporary file that is still being used. A killed writer's lock goes with it."""
    directory = os.path.dirname(os.path.abspath(path))
    for _attempt in range(3):
        fd, tmp = tempfile.mkstemp(dir=directory, prefix='.%s.' % os.path.basename(path),
                                   suffix=TEMP_SUFFIX)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            same = os.stat(tmp).st_ino == os.fstat(fd).st_ino
        except OSError:
            same = False
        if same:
            break
        # A cleanup of another run took the name between mkstemp and flock: start again.
        os.close(fd)
    else:
        raise OSError(errno.EAGAIN, 'could not keep a temporary file in %s' % directory)
    try:
        data = text.encode(encoding)
        while data:
            data = data[os.write(fd, data):]
        os.fsync(fd)
    except BaseException:
        discard_temp(fd, tmp)
        raise
    return fd, tmp


def discard_temp(fd, tmp):
    """Remove a temporary file of :func:`write_temp` (if still there) and release it."""
    try:
        os.unlink(tmp)
    except OSError:
        pass
    try:
        os.close(fd)
    except OSError:
        pass


def remove_leftover_temps(path):
    """Remove temporary files a killed run left next to ``path`` (they may hold secrets).

    Only our own names (:func:`temp_name_re`), only regular files owned by us, and only
    when nobody holds their lock (a run in progress does). Returns the removed paths."""
    directory = os.path.dirname(os.path.abspath(path))
    pattern = temp_name_re(path)
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in sorted(names):
        if not pattern.match(name):
            continue
        candidate = os.path.join(directory, name)
        try:
            fd = os.open(candidate, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # a run is writing it right now
            try:
                if os.lstat(candidate).st_ino != st.st_ino:
                    continue
                os.unlink(candidate)
                removed.append(candidate)
            except OSError:
                continue
        finally:
            os.close(fd)
    return removed


def fsync_directory(directory):
    """Make a rename in ``directory`` durable (best effort)."""
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def read_file_or_none(path):
    try:
        return read_file(path)
    except (IOError, OSError):
        return None


def write_atomically(module, target, text, new_text, backup=False, unsafe_writes=False):
    """Replace ``target`` (whose text is ``text``, None when it does not exist) by
    ``new_text``: backup, temporary file, ``atomic_move``. Returns what the run made
    (``backup_file``). A failure raises a ``ModuleError`` naming the file and the directory
    and saying whether the file was changed; nothing of the text is in the message."""
    made = {}
    exists = text is not None
    directory = os.path.dirname(os.path.abspath(target))
    try:
        if backup and exists:
            made['backup_file'] = module.backup_local(target)
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        fd, tmp = write_temp(target, new_text)
    except (IOError, OSError) as exc:
        raise ModuleError('path: cannot write %s: %s (directory %s; the file was not changed)'
                          % (target, exc.strerror or exc, directory),
                          field='path', detail=_backup_note(made), result=made)
    old_umask = os.umask(PRIVATE_UMASK) if not exists else None
    try:
        module.atomic_move(tmp, target, unsafe_writes=unsafe_writes)
    except Exception as exc:  # atomic_move raises plain Exception with the cause chained
        discard_temp(fd, tmp)
        cause = exc.__cause__ or exc
        untouched = read_file_or_none(target) == text
        raise ModuleError('path: cannot write %s: %s (directory %s; %s)'
                          % (target, getattr(cause, 'strerror', None) or cause, directory,
                             'the file was not changed' if untouched
                             else 'the file may be partly written'),
                          field='path', changed=not untouched, detail=_backup_note(made),
                          result=made)
    finally:
        if old_umask is not None:
            os.umask(old_umask)
    os.close(fd)
    fsync_directory(directory)
    return made


def _backup_note(made):
    if 'backup_file' in made:
        return 'the old file was copied to %s first' % made['backup_file']
    return None
