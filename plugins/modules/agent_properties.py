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
  - Keys and values may hold any character C(java.util.Properties) reads back, written as
    C(\\uXXXX) escapes where needed, except two that CloudStack's agent cannot use - a NUL (its
    values go to C code, where a string ends at a NUL) and an unpaired UTF-16 surrogate (no
    character; encoded as C(?) on the way to libvirt or the management server). Either fails naming
    the key (a secret value is not shown), as does a NUL in O(path); nothing is written.
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
  - cloudstack.ovs.attributes
  - ansible.builtin.files
attributes:
  check_mode:
    description: Computes the same change and diff, writes nothing.
  diff_mode:
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
  version_added: 0.2.0
removed_temp_files:
  description: Temporary files of an interrupted earlier run that were removed.
  returned: always
  type: list
  elements: str
  sample: [/etc/cloudstack/agent/.agent.properties.x1y2z3_a.tmp]
  version_added: 0.2.0
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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudstack.ovs.plugins.module_utils.agent_properties import (
    apply_properties,
    plan_properties,
    properties_context,
    properties_request,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.plan import run_module


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', default='/etc/cloudstack/agent/agent.properties'),
            # no_log: the "Invoked with ..." line AnsibleModule logs (syslog/journal) must
            # never carry a secret; properties_request narrows it to the secret values, so
            # that the diff and the returned invocation still show the other keys.
            properties=dict(type='dict', required=True, no_log=True),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            create=dict(type='bool', default=True),
            backup=dict(type='bool', default=False),
            secret_keys=dict(type='list', elements='str', default=[], no_log=False),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    run_module(module, plan_properties, apply_properties,
               parse=lambda params: properties_request(module, params),
               context=properties_context(module))


if __name__ == '__main__':
    main()
