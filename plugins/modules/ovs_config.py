#!/usr/bin/python
# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)

DOCUMENTATION = r'''
module: ovs_config
short_description: Manage keys of the Open_vSwitch table (other_config, external_ids)
version_added: 0.1.0
description:
  - Sets or removes keys of the C(other_config) and C(external_ids) columns of the single row of
    the C(Open_vSwitch) table, in one OVSDB transaction.
  - This is where OVS-DPDK is configured (C(dpdk-init), C(dpdk-socket-mem), C(pmd-cpu-mask),
    C(dpdk-lcore-mask), C(dpdk-extra), C(vhost-sock-dir)).
  - Only the named keys are touched.
author:
  - cloudstack.ovs contributors (@cloudstack-ovs)
options:
  other_config:
    description:
      - Keys of C(other_config). With O(state=present) each key is set to its value and a value of
        V(null) removes the key; with O(state=absent) the named keys are removed, values are ignored.
      - Values are stored as strings; booleans become C(true)/C(false).
    type: dict
    default: {}
  external_ids:
    description:
      - Keys of C(external_ids), handled like O(other_config).
    type: dict
    default: {}
  state:
    description:
      - Whether the named keys should be present (with the given values) or absent.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - cloudstack.ovs.attributes
  - cloudstack.ovs.ovsdb
attributes:
  check_mode:
    description: Reports the keys a real run changes; writes nothing.
  diff_mode:
    description: Shows both columns before and after.
notes:
  - Some keys only take effect when ovs-vswitchd restarts (for example C(dpdk-init) once DPDK is
    initialised, C(dpdk-socket-mem), C(dpdk-extra)). The module returns them in RV(restart_keys)
    so a role can restart ovs-vswitchd only when one of those changed.
seealso:
  - module: cloudstack.ovs.ovs_info
'''

EXAMPLES = r'''
- name: Initialise DPDK with 1 GiB of socket memory on NUMA node 0
  cloudstack.ovs.ovs_config:
    other_config:
      dpdk-init: true
      dpdk-socket-mem: "1024"
      pmd-cpu-mask: "0xc"

- name: Remove a key
  cloudstack.ovs.ovs_config:
    other_config:
      dpdk-extra:
    state: absent

- name: Record who manages this host
  cloudstack.ovs.ovs_config:
    external_ids:
      cloudstack-host-id: "4"
'''

RETURN = r'''
other_config:
  description: The C(other_config) column after the call (as it would be, in check mode).
  returned: always
  type: dict
  sample: {dpdk-init: "true", dpdk-socket-mem: "1024"}
external_ids:
  description: The C(external_ids) column after the call (as it would be, in check mode).
  returned: always
  type: dict
  sample: {system-id: "1f0e3a8c-0c2e-4d1e-a9a7-1c1f5b0a0e77"}
changed_keys:
  description: Keys set or removed, as C(<column>:<key>).
  returned: always
  type: list
  elements: str
  sample: ["other_config:dpdk-init"]
restart_keys:
  description: Changed keys that take effect only after ovs-vswitchd restarts.
  returned: always
  type: list
  elements: str
  sample: ["other_config:dpdk-socket-mem"]
actions:
  description: What was done (in check mode, what would be done).
  returned: always
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudstack.ovs.plugins.module_utils.ovs_config import (
    config_request,
    plan_config,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.ovsdb import (
    apply_ops,
    ovsdb_context,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.ovsdb_options import (
    ovsdb_argument_spec,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.plan import run_module


def argument_spec():
    spec = dict(
        other_config=dict(type='dict', default={}),
        external_ids=dict(type='dict', default={}),
        state=dict(type='str', default='present', choices=['present', 'absent']),
    )
    spec.update(ovsdb_argument_spec())
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)

    def plan(session, request):
        return plan_config(session.open_vswitch(), request['other_config'],
                           request['external_ids'], request['state'])

    # config_request checks the maps before connecting: bad input fails the same with or
    # without a database.
    run_module(module, plan, apply_ops, parse=config_request, context=ovsdb_context(module))


if __name__ == '__main__':
    main()
