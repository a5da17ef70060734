# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Whether a file's owner, group, mode, SELinux context or attributes differ from what the
file options (``add_file_common_args``) ask - read only, nothing is changed.

Ansible's ``set_*_if_different`` make the change unless the module is in check mode, so a
planner cannot ask them; these answer the same question from ``os.stat`` and Ansible's public
readers (``selinux_context``, ``get_file_attributes``). ``mode_number`` reads a mode as chmod
does: octal (``0640``, ``'0640'``) or symbolic (``u=rw,g=r,o=``, ``go-w``, ``a+X``).

Standard library only (the module is asked for SELinux and attributes).
"""

import grp
import os
import pwd
import re
import stat

_WHO = dict(u=stat.S_IRWXU, g=stat.S_IRWXG, o=stat.S_IRWXO)
_READ, _WRITE, _EXEC = 0o444, 0o222, 0o111
# One operator per clause, as Ansible takes a symbolic mode (chmod takes several: ``u-w+x``);
# Ansible applies the mode in the end, so what it refuses is refused here.
_CLAUSE = re.compile(r'^([ugoa]*)([-+=])([ugo]|[rwxXst-]*)$')


def _current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _bits(who, perms, mode, is_dir):
    """The mode bits ``perms`` (``rwxXst``, or one of ``ugo`` to copy) mean for ``who``."""
    if perms in _WHO:
        # Copy that class's permissions, moved to each class of who.
        src = (mode & _WHO[perms]) >> {'u': 6, 'g': 3, 'o': 0}[perms]
        return sum(src << {'u': 6, 'g': 3, 'o': 0}[w] for w in who)
    bits = 0
    for char in perms:
        if char == 'r':
            bits |= _READ
        elif char == 'w':
            bits |= _WRITE
        elif char == 'x' or (char == 'X' and (is_dir or mode & _EXEC)):
            bits |= _EXEC
        elif char == 's':
            bits |= (stat.S_ISUID if 'u' in who else 0) | (stat.S_ISGID if 'g' in who else 0)
        elif char == 't':
            bits |= stat.S_ISVTX if 'o' in who else 0
    mask = sum(_WHO[w] for w in who)
    return bits & mask | (bits & (stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX))


def symbolic_mode(text, current, is_dir=False):
    """The permission bits chmod's symbolic ``text`` gives a file whose mode is ``current``.
    Raises ValueError for text chmod would refuse."""
    mode = stat.S_IMODE(current)
    for clause in text.split(','):
        match = _CLAUSE.match(clause)
        if not match:
            raise ValueError('bad symbolic mode clause %r' % clause)
        who = match.group(1).replace('a', 'ugo') or 'ugo'
        # No class named: as chmod, the bits the umask holds are left alone.
        limit = ~_current_umask() if not match.group(1) else ~0
        op, perms = match.group(2), match.group(3)
        bits = _bits(who, perms, mode, is_dir) & limit
        if op == '+':
            mode |= bits
        elif op == '-':
            mode &= ~bits
        else:
            cleared = sum(_WHO[w] for w in set(who))
            cleared |= (stat.S_ISUID if 'u' in who else 0) | (stat.S_ISGID if 'g' in who else 0)
            mode = (mode & ~cleared) | bits
    return mode


def mode_number(mode, current, is_dir=False):
    """The mode ``mode`` (an int, octal text or symbolic text) asks of a file now ``current``.
    Raises ValueError when it is neither octal nor symbolic."""
    if isinstance(mode, int):
        return mode
    try:
        return int(str(mode), 8)
    except ValueError:
        return symbolic_mode(str(mode), current, is_dir)


def _uid(owner):
    try:
        return int(owner)
    except ValueError:
        return pwd.getpwnam(owner).pw_uid


def _gid(group):
    try:
        return int(group)
    except ValueError:
        return grp.getgrnam(group).gr_gid


def selinux_differs(module, path, wanted):
    """Whether the SELinux context of ``path`` differs from ``wanted`` (the file options'
    ``secontext``: None parts keep what is there)."""
    if not module.selinux_enabled():
        return False
    current = module.selinux_context(path)
    special, special_context = module.is_special_selinux_path(path)
    if special:
        return list(current) != list(special_context)
    return any(want is not None and want != have
               for want, have in zip(wanted or [], current))


def attributes_differ(module, path, attributes):
    """Whether ``chattr`` would run for the file options' ``attributes`` (``+i``, ``-a``, ``=e``
    or ``e``): as Ansible decides it, the flags differ or some are to be removed."""
    if not attributes:
        return False
    how = attributes[0] if attributes[0] in '+-' else '='
    flags = attributes.lstrip('+-=')
    if not flags:
        return False
    existing = module.get_file_attributes(path, include_version=False).get('attr_flags', '')
    return how == '-' or existing != flags


def fs_attributes_differ(module, file_args):
    """Whether Ansible's ``set_fs_attributes_if_different`` would change owner, group, mode,
    SELinux context or attributes of the existing file ``file_args['path']``."""
    path = file_args['path']
    current = os.lstat(path)
    if file_args.get('owner') is not None and _uid(file_args['owner']) != current.st_uid:
        return True
    if file_args.get('group') is not None and _gid(file_args['group']) != current.st_gid:
        return True
    if file_args.get('mode') is not None:
        wanted = mode_number(file_args['mode'], current.st_mode, stat.S_ISDIR(current.st_mode))
        if wanted != stat.S_IMODE(current.st_mode):
            return True
    return (selinux_differs(module, path, file_args.get('secontext'))
            or attributes_differ(module, path, file_args.get('attributes')))
