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
  - The file is written atomically (a temporary file in the same directory, then a rename);
    owner, group and mode of an existing file are kept. A new file gets mode C(0640) unless O(mode)
    says otherwise.
  - Values of secret-looking keys are never shown - not in the diff, not in any return value, not
    in the logged module arguments. A key is secret when, split into words on every character
    that is not a letter or digit and lowercased, one word contains C(password), C(passwd),
    C(passphrase), C(secret), C(token) or C(credential), or a word is C(pass) or C(key) or ends in
    C(key) (C(apikey), C(secretkey)). So C(keystore.passphrase) is secret, C(keystore.file) is not.
    O(secret_keys) adds more.
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
  description: The file.
  returned: always
  type: str
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

import os

from ansible.module_utils.basic import AnsibleModule

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
    write_atomic,
)

DEFAULT_NEW_MODE = 0o640


def wanted_properties(raw):
    """Validate the ``properties`` parameter; keys are strings, values str or None."""
    wanted = {}
    for key, value in raw.items():
        if not isinstance(key, str) or key == '':
            raise ValueError('properties: keys must be non-empty strings (got %r)' % (key,))
        if value is None:
            wanted[key] = None
        else:
            wanted[key] = to_property_string('properties.%s' % key, value)
    return wanted


def hide_secrets(module, wanted, extra):
    """Register every secret value with Ansible's no_log machinery, so it is scrubbed
    from the logged invocation and every other output as well."""
    for key, value in wanted.items():
        if value and is_secret_key(key, extra):
            module.no_log_values.add(value)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', default='/etc/cloudstack/agent/agent.properties'),
            properties=dict(type='dict', required=True),
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
    try:
        wanted = wanted_properties(params['properties'])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    hide_secrets(module, wanted, extra)

    if os.path.isdir(path):
        module.fail_json(msg='path: %s is a directory, not a properties file' % path)
    try:
        text = read_file(path)
    except (IOError, OSError) as exc:
        module.fail_json(msg='path: cannot read %s: %s' % (path, exc.strerror or exc))
    exists = text is not None
    if not exists and not params['create']:
        module.fail_json(msg='path: %s does not exist and create is false' % path)
    try:
        before = parse(text or '')
    except PropertiesError as exc:
        module.fail_json(msg='path: %s: %s' % (path, exc))
    # Secrets already in the file (not only the ones we set) stay out of every output too.
    for key, value in as_dict(before).items():
        if value and is_secret_key(key, extra):
            module.no_log_values.add(value)

    after, changed_keys = plan(before, wanted, params['state'])
    new_text = render(after)
    # A missing file with nothing to put in it stays missing.
    content_changed = new_text != (text or '')
    result = dict(
        changed=False,
        path=path,
        changed_keys=changed_keys,
        diff=dict(before=masked_text(before, extra) if exists else '',
                  after=masked_text(after, extra),
                  before_header='%s (values of secret keys shown as %s)' % (path, MASK),
                  after_header='%s (values of secret keys shown as %s)' % (path, MASK)),
    )

    if content_changed:
        result['changed'] = True
        if not module.check_mode:
            if params['backup'] and exists:
                result['backup_file'] = module.backup_local(path)
            directory = os.path.dirname(os.path.abspath(path))
            try:
                if not os.path.isdir(directory):
                    os.makedirs(directory, 0o755)
                mode = None
                if not exists and params['mode'] is None:
                    mode = DEFAULT_NEW_MODE
                # The temporary file gets the directory's default SELinux label; keep the
                # file's own label across the rename, as ansible's atomic_move does.
                context = module.selinux_context(path) if exists and module.selinux_enabled() else None
                write_atomic(path, new_text, mode=mode)
                if context is not None:
                    module.set_context_if_different(path, context, False)
            except (IOError, OSError) as exc:
                module.fail_json(msg='path: cannot write %s: %s (directory %s; the file was not '
                                     'changed)' % (path, exc.strerror or exc, directory),
                                 **dict((k, v) for k, v in result.items() if k != 'changed'))

    # Owner/group/mode/SELinux asked for explicitly (also on an unchanged file).
    if os.path.exists(path):
        file_args = module.load_file_common_arguments(params)
        result['changed'] = module.set_fs_attributes_if_different(
            file_args, result['changed'], diff=None)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
