#!/usr/bin/python
# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)

DOCUMENTATION = r'''
module: ovs_bridge
short_description: Manage an Open vSwitch bridge and keep its settings as asked
version_added: 0.1.0
description:
  - Creates, updates or removes one Open vSwitch bridge through OVSDB (ovsdbapp), in one transaction.
  - Settings are compared with the database on every run and drift is repaired, not only set
    when the bridge is created.
  - Keys of O(other_config) and O(external_ids) that are not named are left alone, unless
    O(purge_other_config) or O(purge_external_ids) is set.
author:
  - cloudstack.ovs contributors (@cloudstack-ovs)
options:
  name:
    description:
      - Name of the bridge; at most 15 bytes in UTF-8 (the kernel counts bytes, not characters),
        no NUL, C(/), C(:) or whitespace, not C(.) or C(..).
    type: str
    required: true
  state:
    description:
      - V(present) creates the bridge or brings it to the given settings;
        V(absent) deletes it with all its ports.
    type: str
    choices: [present, absent]
    default: present
  datapath_type:
    description:
      - V(system) for the kernel datapath, V(netdev) for the userspace datapath (DPDK hosts,
        hosts without the openvswitch kernel module).
      - When not given, an existing bridge keeps its datapath and a new one gets V(system).
    type: str
    choices: [system, netdev]
  fail_mode:
    description:
      - What the bridge does without an OpenFlow controller. Not managed when not given.
    type: str
    choices: [standalone, secure]
  other_config:
    description:
      - Keys of the bridge's C(other_config) column to set. A value of V(null) removes that key.
      - Values are stored as strings; booleans become C(true)/C(false).
    type: dict
  external_ids:
    description:
      - Keys of the bridge's C(external_ids) column to set. A value of V(null) removes that key.
    type: dict
  purge_other_config:
    description:
      - Remove C(other_config) keys that are not named in O(other_config).
    type: bool
    default: false
  purge_external_ids:
    description:
      - Remove C(external_ids) keys that are not named in O(external_ids).
    type: bool
    default: false
extends_documentation_fragment:
  - cloudstack.ovs.attributes
  - cloudstack.ovs.ovsdb
attributes:
  check_mode:
    description: Reads the database and reports the changes a real run makes; writes nothing.
  diff_mode:
    description: Shows the bridge's settings and port names before and after.
seealso:
  - module: cloudstack.ovs.ovs_info
  - module: cloudstack.ovs.ovs_config
'''

EXAMPLES = r'''
- name: Guest traffic bridge on a userspace (DPDK) datapath
  cloudstack.ovs.ovs_bridge:
    name: cloudbr1
    datapath_type: netdev
    fail_mode: standalone
    other_config:
      hwaddr: "52:54:00:12:34:56"

- name: Mark a bridge, and drop every external_id we did not name
  cloudstack.ovs.ovs_bridge:
    name: cloudbr0
    external_ids:
      owner: cloudstack.ovs
    purge_external_ids: true

- name: Talk to an OVSDB that is not at the default socket
  cloudstack.ovs.ovs_bridge:
    name: br-test
    datapath_type: netdev
    db: unix:/run/lab/h1/db.sock
    timeout: 5

- name: Remove a bridge
  cloudstack.ovs.ovs_bridge:
    name: br-old
    state: absent
'''

RETURN = r'''
bridge:
  description: The bridge as it is after the call (as it would be, in check mode). Empty when absent.
  returned: always
  type: dict
  sample:
    name: cloudbr1
    datapath_type: netdev
    fail_mode: standalone
    other_config: {}
    external_ids: {owner: cloudstack.ovs}
    ports: [cloudbr1, eth1]
actions:
  description: What was done (in check mode, what would be done), one line per change.
  returned: always
  type: list
  elements: str
  sample: ["add bridge cloudbr1", "set Bridge cloudbr1 fail_mode: standalone"]
diff:
  description: The bridge before and after, when diff mode is on.
  returned: when diff mode is on
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudstack.ovs.plugins.module_utils.bridge import (
    bridge_request,
    plan_bridge,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.ovsdb import apply_ops, ovsdb_context
from ansible_collections.cloudstack.ovs.plugins.module_utils.ovsdb_options import (
    DATAPATH_TYPES,
    FAIL_MODES,
    ovsdb_argument_spec,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.plan import run_module


def argument_spec():
    spec = dict(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        datapath_type=dict(type='str', choices=list(DATAPATH_TYPES)),
        fail_mode=dict(type='str', choices=list(FAIL_MODES)),
        other_config=dict(type='dict'),
        external_ids=dict(type='dict'),
        purge_other_config=dict(type='bool', default=False),
        purge_external_ids=dict(type='bool', default=False),
    )
    spec.update(ovsdb_argument_spec())
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)

    def plan(session, request):
        return plan_bridge(
            session.bridges().get(request['name']), request['name'], state=request['state'],
            datapath_type=request['datapath_type'], fail_mode=request['fail_mode'],
            other_config=request['other_config'], external_ids=request['external_ids'],
            purge_other_config=request['purge_other_config'],
            purge_external_ids=request['purge_external_ids'])

    # bridge_request checks the name before connecting: it fails the same with or without a
    # database.
    run_module(module, plan, apply_ops, parse=bridge_request, context=ovsdb_context(module))


if __name__ == '__main__':
    main()
