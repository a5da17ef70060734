# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The ``agent_properties`` module's steps on the spine (``plan.run_module``).

- :func:`properties_request` (parse): the keys and values of ``properties`` checked once; a
  refused value of a secret key is named by its type only. The secret values are kept out of
  Ansible's log before anything else happens.
- :func:`properties_context` (context): the temporary files an interrupted earlier run left
  next to the file are removed first, unless in check mode (they hold secrets).
- :func:`plan_properties` (plan): the file read (a symlink followed), ``mode``/``owner``/
  ``group`` checked, the new text computed; the diff is the masked text with headers.
- :func:`apply_properties` (apply): the atomic write (``properties_file``), then owner, group,
  mode and SELinux context as asked (a new file gets ``DEFAULT_NEW_MODE``).
"""

import grp
import os
import pwd
import stat
from contextlib import contextmanager

from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import ModuleError, ParamError
from ansible_collections.cloudstack.ovs.plugins.module_utils.file_attributes import (
    fs_attributes_differ,
    mode_number,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.plan import Plan
from ansible_collections.cloudstack.ovs.plugins.module_utils.properties import (
    MASK,
    PropertiesError,
    as_dict,
    is_secret_key,
    masked_text,
    parse,
    plan,
    read_file,
    render,
    to_property_string,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.properties_file import (
    remove_leftover_temps,
    write_atomically,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.secrets import (
    narrow_no_log,
    value_strings,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.validate import check_text, describe

DEFAULT_NEW_MODE = 0o640


def secret_param_values(raw, extra):
    """Every string the values of secret keys in ``properties`` hold, whatever their type."""
    secrets = set()
    for key, value in raw.items():
        if is_secret_key(key, extra):
            secrets |= value_strings(value)
    return secrets


def _bad_char(text):
    """The first character of ``text`` the agent cannot take, described; None when all are
    fine. NUL: ``Properties`` keeps it (as ``\\u0000``), but the agent hands its values to C
    (libvirt, JNI, command lines), where a string ends at a NUL. A lone UTF-16 surrogate
    (U+D800-U+DFFF unpaired, which JSON's ``\\ud800`` can give): ``Properties`` keeps it too, but
    it is no character, and every encoder the agent's values pass through (UTF-8 to libvirt
    and the management server) turns it into ``?``."""
    for index, char in enumerate(text):
        if char == '\x00':
            return 'a NUL (U+0000) at character %d' % index
        if '\ud800' <= char <= '\udfff':
            return 'an unpaired surrogate (U+%04X) at character %d' % (ord(char), index)
    return None


def wanted_properties(raw, extra):
    """Validate the ``properties`` parameter; keys are strings, values str or None.
    A refused value of a secret key is never quoted in the message. Keys and values may not
    hold NUL or an unpaired surrogate (``_bad_char``)."""
    wanted = {}
    for key, value in raw.items():
        if not isinstance(key, str) or key == '':
            raise ParamError('properties: keys must be non-empty strings (got %r)' % (key,))
        bad = _bad_char(key)
        if bad:
            raise ParamError('properties: key %s holds %s, which CloudStack\'s agent cannot '
                             'use; nothing was written' % (describe(key), bad),
                             field='properties')
        secret = is_secret_key(key, extra)
        if value is None:
            wanted[key] = None
            continue
        wanted[key] = to_property_string('properties.%s' % key, value, secret=secret)
        bad = _bad_char(wanted[key])
        if bad:
            raise ParamError('properties.%s: the value holds %s, which CloudStack\'s agent '
                             'cannot use; nothing was written (got %s)'
                             % (key, bad, 'the value of a secret key, not shown' if secret
                                else describe(wanted[key])), field='properties.%s' % key)
    return wanted


def properties_request(module, params):
    """The parameters checked once: ``extra`` (the ``secret_keys``) and ``wanted`` (the
    properties as strings, None to remove) added; ``path`` without NUL (the file system
    ends a path at it). ``properties`` is ``no_log`` in the argument spec; from here on only
    its secret values stay hidden."""
    extra = tuple(params['secret_keys'])
    narrow_no_log(module, 'properties', secret_param_values(params['properties'], extra))
    check_text('path', params['path'])
    return dict(params, extra=extra, wanted=wanted_properties(params['properties'], extra))


def edited_file(path):
    """The file edited: a symlink is followed (the file it points to is edited, the link
    stays)."""
    return os.path.realpath(path) if os.path.islink(path) else path


class PropertiesContext(object):
    """What plan and apply share: the module (for its file helpers) and the temporary files
    removed before planning."""

    def __init__(self, module, removed):
        self.module = module
        self.removed = removed


def properties_context(module):
    """The ``context`` factory of ``agent_properties``: not in check mode, temporary files of
    a run that was killed mid-write (they hold the new text, secrets included) are removed
    first - never one a running run still holds."""
    @contextmanager
    def context():
        removed = [] if module.check_mode else remove_leftover_temps(
            edited_file(module.params['path']))
        yield PropertiesContext(module, removed)
    return context


# The mode a symbolic ``mode`` starts from for a file not there yet.
NEW_FILE_MODE = stat.S_IFREG | 0o600


def file_arg_problems(params, current):
    """``mode``, ``owner`` and ``group`` checked as Ansible will apply them, before anything
    is written. ``current`` is the os.stat of the file, or None for a new one."""
    problems = []
    mode = params['mode']
    if mode is not None:
        try:
            number = mode_number(mode, current.st_mode if current else NEW_FILE_MODE)
        except ValueError:
            number = None
        if number is None:
            problems.append('mode: %r is neither octal (0640) nor symbolic (u=rw,g=r)' % (mode,))
        elif number != stat.S_IMODE(number):
            problems.append('mode: %r is not a permission mode (at most 07777)' % (mode,))
    for field, lookup in (('owner', pwd.getpwnam), ('group', grp.getgrnam)):
        name = params[field]
        if name is None:
            continue
        try:
            int(name)
        except ValueError:
            try:
                lookup(name)
            except KeyError:
                problems.append('%s: no %s named %s on this host'
                                % (field, 'user' if field == 'owner' else 'group', name))
    return problems


def plan_properties(ctx, request):
    """Read the file and plan its new text. The one op is ``write`` (the text changes) or
    ``attributes`` (only owner/group/mode/SELinux/attributes of the existing file do)."""
    module = ctx.module
    path = request['path']
    extra = request['extra']
    target = edited_file(path)
    if os.path.isdir(target):
        raise ParamError('path: %s is a directory, not a properties file' % target)
    try:
        text = read_file(target)
        current = os.stat(target) if text is not None else None
    except (IOError, OSError) as exc:
        raise ParamError('path: cannot read %s: %s' % (target, exc.strerror or exc))
    exists = text is not None
    if not exists and not request['create']:
        raise ParamError('path: %s does not exist and create is false' % target)
    problems = file_arg_problems(request, current)
    if problems:
        raise ParamError('%s; nothing was changed' % '; '.join(problems))
    try:
        before = parse(text or '')
    except PropertiesError as exc:
        raise ParamError('path: %s: %s' % (target, exc))
    # Secrets already in the file (not only the ones we set) stay out of every output too.
    for key, value in as_dict(before).items():
        if value and is_secret_key(key, extra):
            module.no_log_values.add(value)

    after, changed_keys = plan(before, request['wanted'], request['state'])
    new_text = render(after)
    ops = []
    # A missing file with nothing to put in it stays missing.
    if new_text != (text or ''):
        ops.append(dict(op='write', target=target, text=text, new_text=new_text))
    elif exists and fs_attributes_differ(
            module, module.load_file_common_arguments(request, path=target)):
        ops.append(dict(op='attributes', target=target, text=text))
    header = '%s (values of secret keys shown as %s)' % (
        path if target == path else '%s -> %s' % (path, target), MASK)
    diff = dict(before=masked_text(before, extra) if exists else '',
                after=masked_text(after, extra), before_header=header, after_header=header)
    warnings = []
    if ctx.removed:
        warnings.append('removed %d temporary file(s) an interrupted earlier run left next to %s'
                        % (len(ctx.removed), target))
    # The diff is returned always (as documented), not only in diff mode.
    result = dict(path=path, target=target, changed_keys=changed_keys,
                  removed_temp_files=ctx.removed, diff=diff)
    return Plan(ops, diff=diff, warnings=warnings, result=result)


def apply_properties(ctx, planned):
    """Write the new text (when it changed), then owner/group/mode/SELinux as asked."""
    module = ctx.module
    params = module.params
    (op,) = planned.ops
    made = {}
    if op['op'] == 'write':
        try:
            made = write_atomically(module, op['target'], op['text'], op['new_text'],
                                    backup=params['backup'], unsafe_writes=params['unsafe_writes'])
        except ModuleError as exc:
            # As before the spine: a failed write still returns what the run planned (path,
            # target, changed_keys, the masked diff) and the backup it made.
            exc.result = dict(planned.result, **exc.result)
            raise
    file_args = module.load_file_common_arguments(params, path=op['target'])
    if op['text'] is None and file_args['mode'] is None:
        file_args['mode'] = DEFAULT_NEW_MODE
    module.set_fs_attributes_if_different(file_args, True, diff=None)
    return made
