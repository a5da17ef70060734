#!/usr/bin/python
# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)

DOCUMENTATION = r'''
module: ovs_info
short_description: Read Open vSwitch facts - version, DPDK, bridges, ports, tunnels
version_added: 0.1.0
description:
  - Reads the Open vSwitch database and returns the switch's version and capabilities and every
    bridge with its ports and interfaces.
  - Never changes anything; runs the same in check mode.
author:
  - cloudstack.ovs contributors (@cloudstack-ovs)
options:
  bridges:
    description:
      - Only return these bridges. All bridges when empty.
    type: list
    elements: str
    default: []
  agent_properties:
    description:
      - CloudStack agent's properties file, read (never changed) to work out whether the agent will
        report the C(dpdk) host capability - see RV(cloudstack_dpdk_capable). A missing file means
        the agent is not configured (not capable).
    type: path
    default: /etc/cloudstack/agent/agent.properties
extends_documentation_fragment:
  - cloudstack.ovs.attributes.info_module
  - cloudstack.ovs.ovsdb
seealso:
  - module: cloudstack.ovs.ovs_bridge
'''

EXAMPLES = r'''
- name: Read the switch
  cloudstack.ovs.ovs_info:
  register: ovs

- name: Fail unless DPDK is up
  ansible.builtin.assert:
    that: ovs.dpdk_initialized
    fail_msg: "OVS-DPDK is not initialised (dpdk-init: {{ ovs.other_config['dpdk-init'] | default('unset') }})"

- name: Fail unless the CloudStack agent will report the dpdk capability
  ansible.builtin.assert:
    that: ovs.cloudstack_dpdk_capable
    fail_msg: "{{ ovs.cloudstack_dpdk.reasons | join('; ') }}"

- name: Names of all GRE tunnel ports
  ansible.builtin.debug:
    msg: "{{ ovs.tunnels | map(attribute='name') | list }}"
'''

RETURN = r'''
ovs_version:
  description: Version of Open vSwitch as ovs-vswitchd recorded it.
  returned: always
  type: str
  sample: "3.1.0"
db_version:
  description: Version of the database schema.
  returned: always
  type: str
  sample: "8.3.1"
system_type:
  description: Operating system as recorded by the packaging (may be null).
  returned: always
  type: str
datapath_types:
  description: Datapath types this ovs-vswitchd supports.
  returned: always
  type: list
  elements: str
  sample: [netdev, system]
iface_types:
  description: Interface types this ovs-vswitchd supports (C(dpdk), C(dpdkvhostuser) appear with DPDK).
  returned: always
  type: list
  elements: str
  sample: [geneve, gre, internal, patch, system, tap, vxlan]
dpdk_initialized:
  description: Whether ovs-vswitchd has initialised DPDK.
  returned: always
  type: bool
dpdk_version:
  description: DPDK version ovs-vswitchd was built with, if any.
  returned: always
  type: str
other_config:
  description: The C(other_config) column of the Open_vSwitch table.
  returned: always
  type: dict
external_ids:
  description: The C(external_ids) column of the Open_vSwitch table.
  returned: always
  type: dict
bridges:
  description: Bridges, each with its ports and their interfaces.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Bridge name.
      type: str
    datapath_type:
      description: C(system) or C(netdev).
      type: str
    fail_mode:
      description: C(standalone), C(secure) or null when unset.
      type: str
    other_config:
      description: Bridge C(other_config).
      type: dict
    external_ids:
      description: Bridge C(external_ids).
      type: dict
    ports:
      description: Ports of the bridge.
      type: list
      elements: dict
      contains:
        name:
          description: Port name.
          type: str
        tag:
          description: Access VLAN, or null.
          type: int
        interfaces:
          description: Interfaces of the port with C(name), C(type), C(options), C(ofport),
            C(external_ids), C(link_state), C(admin_state), C(error).
          type: list
          elements: dict
cloudstack_dpdk_capable:
  description:
    - Whether CloudStack's KVM agent, reading O(agent_properties), reports the C(dpdk) host capability -
      by the agent's own rule - C(network.bridge.type) is C(openvswitch) (any case; unset means C(native))
      and C(openvswitch.dpdk.enabled) is true (C(true), C(yes), C(on), C(y) or C(1), any case).
    - The agent does not look at OVS for this; RV(dpdk_initialized) says whether OVS can carry the ports.
  returned: always
  type: bool
cloudstack_dpdk:
  description: The details behind RV(cloudstack_dpdk_capable).
  returned: always
  type: dict
  contains:
    capable:
      description: Same as RV(cloudstack_dpdk_capable).
      type: bool
    bridge_type:
      description: C(network.bridge.type) as the agent reads it (C(native) when unset).
      type: str
    enabled:
      description: Whether C(openvswitch.dpdk.enabled) is true.
      type: bool
    ovs_path:
      description: C(openvswitch.dpdk.ovs.path), the directory of the vhost-user sockets, or null.
      type: str
    reasons:
      description: Why the capability is not reported (empty when it is).
      type: list
      elements: str
    warnings:
      description: Problems that do not stop the capability (for example no C(openvswitch.dpdk.ovs.path)).
      type: list
      elements: str
  sample: {capable: true, bridge_type: openvswitch, enabled: true, ovs_path: /var/run/openvswitch,
           reasons: [], warnings: []}
tunnels:
  description: Every tunnel interface (gre, vxlan, geneve, stt) on any bridge, flattened.
  returned: always
  type: list
  elements: dict
  sample:
    - {bridge: OVSTunnel1001, name: t1001-1-2, type: gre, remote_ip: 192.0.2.12, key: "1001",
       ofport: 2, link_state: up}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudstack.ovs.plugins.module_utils.ovs_info import (
    plan_facts,
    read_agent_properties,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.ovsdb import ovsdb_context
from ansible_collections.cloudstack.ovs.plugins.module_utils.ovsdb_options import (
    ovsdb_argument_spec,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.plan import run_module


def argument_spec():
    spec = dict(bridges=dict(type='list', elements='str', default=[]),
                agent_properties=dict(type='path',
                                      default='/etc/cloudstack/agent/agent.properties'))
    spec.update(ovsdb_argument_spec())
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)

    def plan(session, request):
        snapshot = session.snapshot()
        return plan_facts(snapshot, request['bridges'],
                          read_agent_properties(request['agent_properties']))

    # Reads only: no apply, and no lock (a reader never waits for a writer's lock).
    run_module(module, plan, context=ovsdb_context(module, lock=False))


if __name__ == '__main__':
    main()
