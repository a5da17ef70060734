#!/usr/bin/python
# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)

DOCUMENTATION = r'''
module: agent_properties
short_description: Set and remove keys of CloudStack's agent.properties (a Java properties file)
version_added: 0.1.0
description:
  - Edits a Java properties file, by default C(/etc/cloudstack/agent/agent.properties), reading it
    exactly as C(java.util.Properties.load) does - C(=), C(:) and whitespace separators,
    backslash escapes (C(\uXXXX), C(\t), C(\n), C(\ ), C(\=), C(\:), C(\#), C(\!)), continuation
    lines (an odd number of trailing backslashes), C(#) and C(!) comment lines, blank lines.
  - Only the keys named in O(properties) are touched. Comments, blank lines, the order of the file
    and every other key are kept byte for byte; a run that changes nothing leaves the file as it was.
    A changed key is rewritten in place keeping its separator style; a new key is appended at the end.
  - Encoding. CloudStack's agent loads the file with C(Properties.load(InputStream)), which decodes
    ISO-8859-1, not UTF-8. The module reads the file the same way (so it compares against what the
    agent really sees) and writes only ASCII - characters outside printable ASCII become
    C(\uXXXX) escapes, which every reader decodes the same. Raw UTF-8 bytes already in a file are
    left alone unless their key is changed.
  - Values written are escaped as Java needs them - backslashes, control characters, non-ASCII,
    and a leading space, C(=) or C(:). C(=), C(:), C(#) and C(!) inside a value stay readable.
  - If a key occurs more than once the last occurrence is the one Java uses. When its value must
    change, that occurrence is rewritten and the earlier (shadowed) ones are dropped.
  - The file is written atomically - a temporary file in the same directory (mode C(0600),
    named C(.<file name>.<8 characters>.tmp)), then C(atomic_move), which keeps owner, group, mode
    and SELinux context of an existing file and honours O(unsafe_writes). A new file gets mode
    C(0640) unless O(mode) says otherwise. Such temporary files that a run killed mid-write left
    behind (they hold the new text, secrets included) are removed by the next run that is not in
    check mode, see RV(removed_temp_files); one that a running run still holds is never touched.
  - A symlink at O(path) is followed - the file it points to is edited and the link stays, as an
    operator expects of C(agent.properties) linked elsewhere. RV(target) is the file edited.
  - O(mode), O(owner) and O(group) are checked before anything is written; a bad mode or an
    unknown user or group fails naming the field, and the file stays as it was.
  - Values of secret keys are never shown - not in the diff, not in any return value or message,
    not in the logged module arguments (syslog/journal), not in the returned invocation. A key is
    secret when, split into words on every character that is not a letter or digit and at every
    lower-to-upper case change, and lowercased, one word contains C(password), C(passwd),
    C(passphrase), C(passcode), C(secret), C(token) or C(credential), or a word (trailing digits
    ignored) is or ends in C(pass), C(pwd), C(pw), C(cred), C(creds), C(key) or C(keys) - except
    C(bypass), C(compass), C(surpass), C(sacred), C(hotkey), C(hotkeys). So C(keystore.passphrase),
    C(db.pwd), C(dbPw), C(cluster.cred) and C(apiKey) are secret, C(keystore.file) is not.
    O(secret_keys) adds more. The same list masks secret XML attributes in
    M(cloudstack.ovs.vm_extraconfig) (see docs/agent_properties.md).
  - O(properties) is kept out of the logged module arguments as a whole (Ansible's C(no_log)); its
    non-secret values still show in the diff and the returned invocation.
author:
  - cloudstack.ovs contributors (@cloudstack-ovs)
options:
  path:
    description: The properties file.
    type: path
    default: /etc/cloudstack/agent/agent.properties
  properties:
    description:
      - Keys to set, with their values. A null value removes the key (every occurrence).
      - Booleans are written as Java prints them (C(true)/C(false)), numbers as their decimal text.
    type: dict
    required: true
  state:
    description:
      - V(present) sets the keys of O(properties) (and removes those whose value is null).
      - V(absent) removes every key named in O(properties), whatever value is given.
    type: str
    choices: [present, absent]
    default: present
  create:
    description:
      - Create the file (and missing parent directories) when it does not exist.
      - With V(false) a missing file is an error.
    type: bool
    default: true
  backup:
    description: Keep a time-stamped copy of the old file when it changes.
    type: bool
    default: false
  secret_keys:
    description: More keys whose values must never be shown, in addition to the secret-looking ones.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - ansible.builtin.files
attributes:
  check_mode:
    support: full
    description: Computes the same change and diff, writes nothing.
  diff_mode:
    support: full
    description: Before and after text of the file, with secret values masked.
notes:
  - Run as a user that may write the directory of O(path); the rename needs it.
seealso:
  - module: ansible.builtin.lineinfile
'''

EXAMPLES = r'''
- name: Make the agent use Open vSwitch
  cloudstack.ovs.agent_properties:
    properties:
      network.bridge.type: openvswitch
      libvirt.vif.driver: com.cloud.hypervisor.kvm.resource.OvsVifDriver
      private.network.device: cloudbr0
      public.network.device: cloudbr1
      guest.network.device: cloudbr1
  register: agent_props

- name: Turn DPDK off again (remove the keys)
  cloudstack.ovs.agent_properties:
    properties:
      openvswitch.dpdk.enabled:
      openvswitch.dpdk.ovs.path:
    backup: true

- name: A file of our own, created with a given owner and mode
  cloudstack.ovs.agent_properties:
    path: /etc/cloudstack/agent/extra.properties
    properties: {keystore.passphrase: "{{ vault_keystore_pass }}"}
    owner: root
    group: cloud
    mode: "0640"
'''

RETURN = r'''
changed_keys:
  description: Keys whose effective value was set, changed or removed, in the order given.
  returned: always
  type: list
  elements: str
  sample: [network.bridge.type, guest.network.device]
path:
  description: The file as given in O(path).
  returned: always
  type: str
target:
  description: The file edited - O(path), or the file its symlink points to.
  returned: always
  type: str
  sample: /srv/cloudstack/agent.properties
removed_temp_files:
  description: Temporary files of an interrupted earlier run that were removed.
  returned: always
  type: list
  elements: str
  sample: [/etc/cloudstack/agent/.agent.properties.x1y2z3_a.tmp]
backup_file:
  description: The copy of the old file, when O(backup) made one.
  returned: changed and backup requested
  type: str
  sample: /etc/cloudstack/agent/agent.properties.1234.2026-11-25@01:50:00~
diff:
  description: Before and after text of the file with secret values replaced by C(********).
  returned: always
  type: dict
  contains:
    before:
      description: Old text (empty when the file did not exist).
      type: str
    after:
      description: New text.
      type: str
'''

import grp
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudstack.ovs.plugins.module_utils.properties import (
    MASK,
    PropertiesError,
    as_dict,
    discard_temp,
    fsync_directory,
    is_secret_key,
    masked_text,
    parse,
    plan,
    read_file,
    remove_leftover_temps,
    render,
    to_property_string,
    write_temp,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.secrets import (
    narrow_no_log,
    value_strings,
)

DEFAULT_NEW_MODE = 0o640
# atomic_move gives a file it creates 0666 & ~umask; this umask keeps the new file
# private (0600) until its mode is set.
PRIVATE_UMASK = 0o177


def secret_param_values(raw, extra):
    """Every string the values of secret keys in ``properties`` hold, whatever their type."""
    secrets = set()
    for key, value in raw.items():
        if is_secret_key(key, extra):
            secrets |= value_strings(value)
    return secrets


def wanted_properties(raw, extra):
    """Validate the ``properties`` parameter; keys are strings, values str or None.
    A refused value of a secret key is never quoted in the message."""
    wanted = {}
    for key, value in raw.items():
        if not isinstance(key, str) or key == '':
            raise ValueError('properties: keys must be non-empty strings (got %r)' % (key,))
        if value is None:
            wanted[key] = None
        else:
            wanted[key] = to_property_string('properties.%s' % key, value,
                                             secret=is_secret_key(key, extra))
    return wanted


class _NewFile(object):
    st_mode = stat.S_IFREG | 0o600


def file_arg_problems(module, params, current):
    """``mode``, ``owner`` and ``group`` checked as Ansible will apply them, before anything
    is written. ``current`` is the os.stat of the file, or None for a new one."""
    problems = []
    mode = params['mode']
    if mode is not None:
        try:
            number = mode if isinstance(mode, int) else int(str(mode), 8)
        except ValueError:
            try:
                number = module._symbolic_mode_to_octal(current or _NewFile(), str(mode))
            except Exception:  # Ansible raises ValueError; any failure means the same
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


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', default='/etc/cloudstack/agent/agent.properties'),
            # no_log: the "Invoked with ..." line AnsibleModule logs (syslog/journal) must
            # never carry a secret; narrowed below to the secret values, so that the diff
            # and the returned invocation still show the other keys.
            properties=dict(type='dict', required=True, no_log=True),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            create=dict(type='bool', default=True),
            backup=dict(type='bool', default=False),
            secret_keys=dict(type='list', elements='str', default=[], no_log=False),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    params = module.params
    path = params['path']
    extra = tuple(params['secret_keys'])
    narrow_no_log(module, 'properties', secret_param_values(params['properties'], extra))
    try:
        wanted = wanted_properties(params['properties'], extra)
    except ValueError as exc:
        module.fail_json(msg=str(exc))

    # A symlink is followed: the file it points to is edited and the link stays.
    target = os.path.realpath(path) if os.path.islink(path) else path
    if os.path.isdir(target):
        module.fail_json(msg='path: %s is a directory, not a properties file' % target)
    try:
        text = read_file(target)
        current = os.stat(target) if text is not None else None
    except (IOError, OSError) as exc:
        module.fail_json(msg='path: cannot read %s: %s' % (target, exc.strerror or exc))
    exists = text is not None
    if not exists and not params['create']:
        module.fail_json(msg='path: %s does not exist and create is false' % target)
    problems = file_arg_problems(module, params, current)
    if problems:
        module.fail_json(msg='%s; nothing was changed' % '; '.join(problems), changed=False)
    try:
        before = parse(text or '')
    except PropertiesError as exc:
        module.fail_json(msg='path: %s: %s' % (target, exc))
    # Secrets already in the file (not only the ones we set) stay out of every output too.
    for key, value in as_dict(before).items():
        if value and is_secret_key(key, extra):
            module.no_log_values.add(value)

    after, changed_keys = plan(before, wanted, params['state'])
    new_text = render(after)
    # A missing file with nothing to put in it stays missing.
    content_changed = new_text != (text or '')
    header = '%s (values of secret keys shown as %s)' % (
        path if target == path else '%s -> %s' % (path, target), MASK)
    result = dict(
        changed=False,
        path=path,
        target=target,
        changed_keys=changed_keys,
        removed_temp_files=[],
        diff=dict(before=masked_text(before, extra) if exists else '',
                  after=masked_text(after, extra),
                  before_header=header, after_header=header),
    )

    if not module.check_mode:
        # Temporary files of a run that was killed mid-write hold the new text, secrets
        # included: take them away (never one a running run still holds).
        result['removed_temp_files'] = remove_leftover_temps(target)
        if result['removed_temp_files']:
            module.warn('removed %d temporary file(s) an interrupted earlier run left next to %s'
                        % (len(result['removed_temp_files']), target))

    if content_changed:
        result['changed'] = True
        if not module.check_mode:
            write(module, params, target, text, new_text, result)

    # Owner/group/mode/SELinux asked for explicitly (also on an unchanged file); a new
    # file gets DEFAULT_NEW_MODE unless mode says otherwise.
    if os.path.exists(target):
        file_args = module.load_file_common_arguments(params, path=target)
        if not exists and file_args['mode'] is None and not module.check_mode:
            file_args['mode'] = DEFAULT_NEW_MODE
        result['changed'] = module.set_fs_attributes_if_different(
            file_args, result['changed'], diff=None)
    module.exit_json(**result)


def write(module, params, target, text, new_text, result):
    """Backup, then a temporary file renamed over ``target`` by ``atomic_move`` (which keeps
    owner, mode and SELinux context of an existing file and honours ``unsafe_writes``)."""
    exists = text is not None
    directory = os.path.dirname(os.path.abspath(target))
    try:
        if params['backup'] and exists:
            result['backup_file'] = module.backup_local(target)
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        fd, tmp = write_temp(target, new_text)
    except (IOError, OSError) as exc:
        module.fail_json(msg='path: cannot write %s: %s (directory %s; the file was not '
                             'changed)' % (target, exc.strerror or exc, directory),
                         **dict((k, v) for k, v in result.items() if k != 'changed'))
    old_umask = os.umask(PRIVATE_UMASK) if not exists else None
    try:
        module.atomic_move(tmp, target, unsafe_writes=params['unsafe_writes'])
    except Exception as exc:  # atomic_move raises plain Exception with the cause chained
        discard_temp(fd, tmp)
        cause = exc.__cause__ or exc
        untouched = read_file_or_none(target) == text
        module.fail_json(msg='path: cannot write %s: %s (directory %s; %s)'
                             % (target, getattr(cause, 'strerror', None) or cause, directory,
                                'the file was not changed' if untouched
                                else 'the file may be partly written'),
                         **dict((k, v) for k, v in result.items()
                                if k != 'changed' or not untouched))
    finally:
        if old_umask is not None:
            os.umask(old_umask)
    os.close(fd)
    fsync_directory(directory)


def read_file_or_none(path):
    try:
        return read_file(path)
    except (IOError, OSError):
        return None


if __name__ == '__main__':
    main()
