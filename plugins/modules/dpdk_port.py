#!/usr/bin/python
# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)

DOCUMENTATION = r'''
module: dpdk_port
short_description: Manage an OVS-DPDK vhost-user port the way CloudStack's KVM agent creates it
version_added: 0.1.0
description:
  - Creates, repairs or removes one vhost-user port (C(csdpdk-N)) on a userspace (C(netdev)) bridge
    of an OVS-DPDK switch, in one OVSDB transaction, and returns the libvirt
    C(<interface type='vhostuser'>) element a guest needs to use it.
  - O(mode=server) (CloudStack's default vHost user mode) creates a C(dpdkvhostuser) port - OVS
    creates the socket C(<ovs_path>/<name>) and the guest interface connects to it (mode
    C(client)). O(mode=client) creates a C(dpdkvhostuserclient) port with
    C(options:vhost-server-path=<ovs_path>/<name>) - QEMU creates the socket (guest interface mode
    C(server)) and OVS connects to it, also again after ovs-vswitchd restarts.
  - A port that exists with another type, tag or server path is repaired; the same port again
    changes nothing.
  - Fails, changing nothing, when the bridge is missing or not C(netdev), when ovs-vswitchd has not
    initialised DPDK, or when O(tag) is not a VLAN id.
author:
  - cloudstack.ovs contributors (@cloudstack-ovs)
options:
  bridge:
    description:
      - The bridge of the guest traffic label (for example C(cloudbr1)); it must exist and use
        C(datapath_type=netdev). Required with O(state=present).
      - With O(state=absent), when given, the port must be on this bridge.
    type: str
  name:
    description:
      - Port (and interface) name; at most 15 bytes in UTF-8.
      - An existing port of that name must be a vhost-user port (interface type C(dpdkvhostuser) or
        C(dpdkvhostuserclient)); any other port (the bridge's own port, a VM's tap, a tunnel) is
        refused, never retyped or deleted.
      - When not given with O(state=present) - the C(csdpdk-N) port of O(bridge) whose interface
        has all of O(external_ids) (when O(external_ids) is given and such a port exists), else the
        next free name as CloudStack's agent numbers them (C(DpdkDriverImpl.getNextDpdkPort)) -
        of the ports on any bridge whose name contains C(csdpdk-), the highest by version sort
        (C(sort -rV)), its number plus one. Without O(external_ids) every run then creates a new
        port, as the agent does on every VM start.
      - Required with O(state=absent).
    type: str
  mode:
    description:
      - The vHost user mode (CloudStack's service offering detail C(DPDK-VHOSTUSER)).
      - V(server) - OVS is the vhost-user server (port type C(dpdkvhostuser)).
      - V(client) - OVS is the client (port type C(dpdkvhostuserclient)).
    type: str
    choices: [server, client]
    default: server
  tag:
    description:
      - VLAN id (1-4094); the port becomes an access port of that VLAN (C(vlan_mode=access)).
      - Not given - an untagged port; a tag an existing port has is removed. This is what the
        agent does for a VLAN outside 1-4094 (it tags only when 0 < vlan < 4095).
    type: int
  ovs_path:
    description:
      - Directory of the vhost-user sockets - the agent's C(openvswitch.dpdk.ovs.path). For server
        ports it must be where ovs-vswitchd creates sockets (its run directory, or
        C(other_config:vhost-sock-dir) below it).
      - A client port the agent made stores C(<ovs_path>//<name>) (the agent gives the directory
        a trailing C(/)); that is the same socket and is left as it is.
      - Must be absolute; a path with a C(..) component is refused, not normalised.
    type: path
    default: /var/run/openvswitch
  external_ids:
    description:
      - Keys to set on the interface's C(external_ids) (for example C(attached-mac), C(vm-id)); other
        keys are left alone. Also used to find the port again when O(name) is not given.
    type: dict
  mac:
    description:
      - MAC address put into the returned interface XML (C(<mac address=.../>)). Not stored in OVS.
    type: str
  model:
    description:
      - NIC model of the returned interface XML.
    type: str
    default: virtio
  interface_extra:
    description:
      - XML fragments merged into the returned interface XML - the values of the
        C(extraconfig-dpdk-interface-*) details CloudStack appends to the guest's vhost-user
        interfaces. An element whose tag the interface has once already (C(model), C(driver),
        C(mtu) ...) replaces it; others are added. C(<source>) may not be replaced.
      - XML nested more than 32 elements deep is refused.
    type: list
    elements: str
    default: []
  state:
    description:
      - V(present) creates or repairs the port; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - cloudstack.ovs.attributes
  - cloudstack.ovs.ovsdb
attributes:
  check_mode:
    description: Computes the port (and its name) and the changes; writes nothing.
  diff_mode:
    description: The port's type, tag, options and external_ids before and after.
notes:
  - The socket of a server port appears once ovs-vswitchd has added the port; the module does not
    wait for it. A client port's socket is created by QEMU (libvirt), not by OVS.
  - The module reads C(dpdk_initialized) from the database; prepare the host with the
    C(cloudstack.ovs.dpdk) role first.
seealso:
  - module: cloudstack.ovs.ovs_bridge
  - module: cloudstack.ovs.ovs_info
'''

EXAMPLES = r'''
- name: A port for a guest NIC, OVS serving the socket (CloudStack's default)
  cloudstack.ovs.dpdk_port:
    bridge: cloudbr1
    tag: 100
    mac: "02:00:4c:5f:00:01"
    external_ids:
      attached-mac: "02:00:4c:5f:00:01"
  register: vhu

- name: Put the interface into a domain definition
  ansible.builtin.debug:
    msg: "{{ vhu.interface_xml }}"

- name: Client mode (QEMU serves the socket; survives an OVS restart), with extraconfig merged in
  cloudstack.ovs.dpdk_port:
    bridge: cloudbr1
    name: csdpdk-7
    mode: client
    ovs_path: /var/run/openvswitch/vhu
    interface_extra:
      - "<driver queues='2'/>"

- name: Remove a port
  cloudstack.ovs.dpdk_port:
    name: csdpdk-7
    state: absent
'''

RETURN = r'''
port:
  description: Name of the port (the one chosen, when O(name) was not given).
  returned: always
  type: str
  sample: csdpdk-3
port_type:
  description: OVS interface type of the port.
  returned: when O(state=present)
  type: str
  sample: dpdkvhostuser
socket_path:
  description: The vhost-user socket, C(<ovs_path>/<port>).
  returned: when O(state=present)
  type: str
  sample: /var/run/openvswitch/csdpdk-3
guest_mode:
  description: Mode of the guest interface's C(<source>) - the opposite of O(mode).
  returned: when O(state=present)
  type: str
  sample: client
interface_xml:
  description: The libvirt C(<interface type='vhostuser'>) element for the guest.
  returned: when O(state=present)
  type: str
  sample: |
    <interface type="vhostuser">
      <source type="unix" path="/var/run/openvswitch/csdpdk-3" mode="client" />
      <mac address="02:00:4c:5f:00:01" />
      <model type="virtio" />
    </interface>
actions:
  description: What was done (in check mode, what would be done).
  returned: always
  type: list
  elements: str
  sample: ["add port csdpdk-3 to bridge cloudbr1"]
diff:
  description: The port before and after, when diff mode is on.
  returned: when diff mode is on
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudstack.ovs.plugins.module_utils.dpdk import DEFAULT_OVS_PATH, MODES
from ansible_collections.cloudstack.ovs.plugins.module_utils.dpdk_port import (
    dpdk_port_request,
    plan_dpdk_port,
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
        bridge=dict(type='str'),
        name=dict(type='str'),
        mode=dict(type='str', default='server', choices=list(MODES)),
        tag=dict(type='int'),
        ovs_path=dict(type='path', default=DEFAULT_OVS_PATH),
        external_ids=dict(type='dict'),
        mac=dict(type='str'),
        model=dict(type='str', default='virtio'),
        interface_extra=dict(type='list', elements='str', default=[]),
        state=dict(type='str', default='present', choices=['present', 'absent']),
    )
    spec.update(ovsdb_argument_spec())
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           required_if=[('state', 'present', ['bridge']),
                                        ('state', 'absent', ['name'])])

    def plan(session, request):
        return plan_dpdk_port(
            session.snapshot(), request['bridge'], name=request['name'], mode=request['mode'],
            tag=request['tag'], ovs_path=request['ovs_path'], state=request['state'],
            external_ids=request['external_ids'], mac=request['mac'], model=request['model'],
            interface_extra=request['interface_extra'])

    # dpdk_port_request checks every parameter before connecting: bad input fails the same
    # with or without a database.
    run_module(module, plan, apply_ops, parse=dpdk_port_request, context=ovsdb_context(module))


if __name__ == '__main__':
    main()
