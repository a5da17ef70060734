#!/usr/bin/python
# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)

DOCUMENTATION = r'''
module: gre_mesh_info
short_description: Read one host's side of the CloudStack GRE mesh for the mesh doctor (read-only)
version_added: 0.2.0
description:
  - Reads, and never changes, what decides whether VMs of a GRE network on this host reach VMs on
    the other hosts - every tunnel bridge (C(OVSTunnel<key>), or a bridge CloudStack or
    M(cloudstack.ovs.gre_network) marked) with its ports, tunnel options, C(protected) flags,
    C(stp_enable), C(rstp_enable), C(fail_mode) and controllers, its flow table, the host's
    addresses and whether each sits on an OVS bridge, and whether CloudStack's agent considers
    the bridge set up.
  - "Forwarding is traced, not guessed: per bridge, C(ovs-appctl ofproto/trace) of a broadcast frame
    from the bridge's local port (where does a copy leave: which tunnel endpoints, how many times),
    of a broadcast coming in from each tunnel (it must not leave into another tunnel), and of a
    unicast to every MAC address the bridge learned on a tunnel port (it must leave on that tunnel).
    Tracing sends no packet and changes no state of the switch."
  - The playbook C(cloudstack.ovs.mesh_doctor) runs it on every host and compares the hosts with
    each other and with the inventory (filter C(cloudstack.ovs.mesh_doctor_report)).
author:
  - cloudstack.ovs contributors (@cloudstack-ovs)
options:
  host_id:
    description:
      - This host's CloudStack host id. Used for the agent's view (RV(bridges.agent_configured)); not
        evaluated when not given.
    type: int
  bridges:
    description:
      - More bridges to read besides the tunnel bridges found on the switch (for a tunnel bridge with
        a name of its own and no marker).
    type: list
    elements: str
    default: []
  trace:
    description:
      - Trace forwarding with C(ovs-appctl ofproto/trace). Needs ovs-vswitchd's control socket.
    type: bool
    default: true
  max_unicast_traces:
    description:
      - At most this many learned MAC addresses are traced per bridge.
    type: int
    default: 16
  max_tunnel_traces:
    description:
      - A broadcast coming in from a tunnel is traced from at most this many tunnel ports per
        bridge, spread evenly over all of them (the same ones for the same O(host_id), and
        different ones on different hosts); C(0) traces none. Set it to the number of peers or
        more to trace every tunnel.
      - Bounded because the traces from the tunnels were most of a large host's read - one per
        tunnel, 1,016 per host in a 128-host zone of 8 networks, each answered by ovs-vswitchd's
        main thread. The split horizon of
        every tunnel is still read - its priority-1000 broadcast flow (RV(bridges.flows)) and its
        C(protected) flag (RV(bridges.ports)) - and checked by the mesh doctor; the traces
        confirm what those make the switch do. RV(bridges.trace) says how many tunnels the
        bridge has (C(tunnel_count)) and which were traced (C(from_tunnels)).
    type: int
    default: 16
  return_format:
    description:
      - How the reading is returned. V(dict) - as the return values RV(bridges) and RV(addresses).
        V(json) - as one JSON document in RV(reading_json), with the same C(host_id), C(bridges) and
        C(addresses); the playbook C(cloudstack.ovs.mesh_doctor) asks for it.
      - A reading is large (some 490 KB of tens of thousands of values per host in a 128-host zone of
        8 networks), and ansible-playbook's main process walks and copies a result's values one by
        one, one host after another, for the result, the registered variable and every callback -
        most of the controller's time in a zone-sized doctor run. One string it passes on as it is.
    type: str
    choices: [dict, json]
    default: dict
    version_added: 0.3.0
  ovs_rundir:
    description:
      - Directory of ovs-vswitchd's control socket and of the bridges' OpenFlow management sockets
        (C(<bridge>.mgmt)).
      - Default - the directory of the O(db) socket when O(db) is C(unix:), else C(/var/run/openvswitch).
    type: path
extends_documentation_fragment:
  - cloudstack.ovs.attributes.info_module
  - cloudstack.ovs.ovsdb
requirements:
  - ovs-ofctl (Open vSwitch), ip (iproute2, with C(-j))
notes:
  - Every ovs-ofctl call and every control command is bounded by O(timeout) seconds; up to six of
    them run at a time, and C(ip) runs while OVSDB is read.
  - A broadcast whose trace finds no neighbour (ARP) entry for a tunnel endpoint (OVS native
    tunnels, C(neighbor cache miss) in its notes) made ovs-vswitchd send an ARP request; it is
    traced again after 1, 2 and 4 seconds while it still misses (one wait per host, in all at
    most O(timeout)), so that a copy is missing from the result only when the endpoint did not
    answer. The notes of the last trace are returned.
  - The control commands (C(ofproto/trace), C(fdb/show)) are sent as C(ovs-appctl) sends them, on
    ovs-vswitchd's control socket (C(ovs-vswitchd.<pid>.ctl) in O(ovs_rundir)), without starting
    an C(ovs-appctl) process for each.
seealso:
  - module: cloudstack.ovs.gre_network
  - module: cloudstack.ovs.ovs_info
'''

EXAMPLES = r'''
- name: Read this host's side of the mesh
  cloudstack.ovs.gre_mesh_info:
    host_id: "{{ cloudstack_host_id }}"
  register: mesh_info

- name: Fail unless a broadcast from OVSTunnel1001 leaves on two tunnels
  ansible.builtin.assert:
    that: mesh_info.bridges.OVSTunnel1001.trace.broadcast.tunnels | length == 2
'''

RETURN = r'''
host_id:
  description: O(host_id) as given.
  returned: always
  type: int
bridges:
  description: The tunnel bridges by name, as the switch has them.
  returned: when O(return_format=dict)
  type: dict
  contains:
    name:
      description: Bridge name.
      type: str
    datapath_type:
      description: C(system) or C(netdev).
      type: str
    fail_mode:
      description: C(standalone), C(secure) or null.
      type: str
    stp_enable:
      description: Spanning tree on.
      type: bool
    rstp_enable:
      description: Rapid spanning tree on.
      type: bool
    controllers:
      description: Targets of the bridge's OpenFlow controllers.
      type: list
      elements: str
    other_config:
      description: The bridge's C(other_config) (CloudStack's markers).
      type: dict
    external_ids:
      description: The bridge's C(external_ids).
      type: dict
    ports:
      description: Ports by name, each with C(name), C(protected), C(external_ids) and C(interfaces) (by name,
        each with C(name), C(type), C(options), C(ofport), C(link_state), C(error)).
      type: dict
    flows:
      description: The flow table (C(ovs-ofctl --no-names --no-stats dump-flows)), one line per flow;
        null when it could not be read (see C(flows_error)).
      type: list
      elements: str
    flows_error:
      description: Why the flows could not be read, or null.
      type: str
    agent_configured:
      description: Whether CloudStack's agent, reading C(other_config:ovs-host-setup) as it does,
        considers the bridge set up for O(host_id); null without O(host_id).
      type: bool
    trace:
      description:
        - The forwarding traces (when O(trace=true)) - C(broadcast) (from the local port), C(from_tunnels)
          (a broadcast from each traced tunnel port, O(max_tunnel_traces), with its C(port)), C(unicast)
          (to each learned MAC on a tunnel port), each with C(tunnels) (every encapsulated copy,
          C(remote_ip) and C(key)), C(actions) (the datapath actions; above 2,048 characters their
          start and how many characters more, for C(tunnels) lists every copy) and C(notes); C(tunnel_count), the
          bridge's tunnel ports with an OpenFlow port number (of which C(from_tunnels) traced some or
          all); C(error) when tracing failed.
      type: dict
  sample:
    OVSTunnel1001:
      name: OVSTunnel1001
      stp_enable: false
      fail_mode: null
      flows: ["priority=0 actions=NORMAL"]
      agent_configured: true
addresses:
  description: The host's IPv4 and IPv6 addresses (link-local ones left out), each with the interface
    and whether that interface is an OVS internal port (a bridge's own device).
  returned: when O(return_format=dict)
  type: list
  elements: dict
  sample:
    - {ifname: cloudbr0, address: 192.0.2.11, prefixlen: 24, ovs: true}
reading_json:
  description:
    - The whole reading as one JSON document - an object with C(host_id), C(bridges) and
      C(addresses), each as RV(host_id), RV(bridges) and RV(addresses) describe it. Decode it with
      C(from_json); the mesh doctor decodes it itself.
  returned: when O(return_format=json)
  type: str
  version_added: 0.3.0
  sample: '{"addresses":[],"bridges":{},"host_id":2}'
'''


from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudstack.ovs.plugins.module_utils.gre_mesh_info import (
    mesh_info_context,
    mesh_info_request,
    read_mesh_info,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.ovsdb_options import (
    ovsdb_argument_spec,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.plan import run_module


def argument_spec():
    spec = dict(
        host_id=dict(type='int'),
        bridges=dict(type='list', elements='str', default=[]),
        trace=dict(type='bool', default=True),
        max_unicast_traces=dict(type='int', default=16),
        max_tunnel_traces=dict(type='int', default=16),
        ovs_rundir=dict(type='path'),
        return_format=dict(type='str', choices=['dict', 'json'], default='dict'),
    )
    spec.update(ovsdb_argument_spec())
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    # Read-only: no ops, no apply.
    run_module(module, read_mesh_info, parse=mesh_info_request,
               context=mesh_info_context(module))


if __name__ == '__main__':
    main()
