#!/usr/bin/python
# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)

DOCUMENTATION = r'''
module: gre_network
short_description: Converge a host's CloudStack GRE mesh (tunnel bridges, GRE ports, flows) in one call
version_added: 0.1.0
description:
  - Lays out CloudStack's GRE isolation on one KVM host the way CloudStack's agent does
    (C(scripts/vm/network/vnet/ovstunnel.py)) - one bridge C(OVSTunnel<key>) per guest network and
    one GRE port C(t<key>-<this host id>-<peer host id>) to every peer host, with
    C(options:key=<key>) and C(options:remote_ip=<peer underlay IP>).
  - Every network given is converged in one call and one OVSDB transaction; when nothing differs,
    nothing is written and C(changed) is false.
  - The bridge gets CloudStack's markers in C(other_config) (C(gre_key), C(is-ovs-tun-network=True),
    this host in C(ovs-host-setup)) and this module's marker C(cloudstack-ovs-owner=gre_network) in
    C(external_ids); tunnel ports carry the same marker in their C(external_ids).
  - "Split horizon: every tunnel port is created with C(protected=true), in the same transaction,
    so the NORMAL action never forwards a frame that came in from one tunnel into another one
    (a full mesh would loop otherwise). This lives in OVSDB: it holds from the moment the port
    exists and survives restarts of ovs-vswitchd."
  - "STP: the module owns C(stp_enable) of the bridges it manages and keeps it V(false).
    CloudStack's agent turns STP on when it sets a bridge up; on a mesh whose loop guard is
    C(protected) ports STP blocks one tunnel of a triangle and the detour meets two protected
    ports, so VMs lose each other. The split horizon makes STP unnecessary."
  - "Living with CloudStack's agent: C(ovs-host-setup) is written so that the agent's own check
    (C(ovs-vsctl get), first line, split on commas, host id among the pieces) calls the bridge set
    up - C(<id>,<id>,-1) as on CloudStack's own bridges, every id already there kept - so the
    agent never runs its bridge setup again on a managed bridge. Bridges and tunnels the agent
    made are adopted (same names, no duplicates; adopted ports get
    C(external_ids:cloudstack-ovs-adopted=gre_network)). See C(docs/gre_network.md)."
  - Flows (O(flows=true)) - the bridge's flow table is set to CloudStack's split-horizon entries
    at priority 1000 (broadcast and 224.0.0.0/24 from each tunnel port) and NORMAL for the rest.
    Installed flows are compared with the wanted ones and replaced only when they differ, at once
    (C(ovs-ofctl --bundle replace-flows)). See C(docs/gre_network.md) for what is and is not
    mirrored from CloudStack.
  - Spanning tree, which CloudStack's agent turns on, is turned off on the tunnel bridges (it blocks
    tunnels of a full mesh); right after, every port's flood flag is toggled with OpenFlow port-mods
    so ovs-vswitchd floods to the ports again (see C(docs/gre_network.md)).
  - Tunnel port names are CloudStack's, also when longer than 15 characters - GRE ports are no
    kernel interfaces on either datapath; flows refer to ports by number only (OpenFlow truncates
    port names to 15 characters). Bridge names must fit in 15 bytes (UTF-8).
  - Every parameter is checked before anything is read or written; a bad value fails naming the
    field and the value, and changes nothing.
author:
  - cloudstack.ovs contributors (@cloudstack-ovs)
options:
  host_id:
    description:
      - This host's CloudStack host id (the C(<src>) in the tunnel port names).
      - Required, except with O(mesh_var), which gives the host's id from the checked mesh when
        this is not set.
    type: int
  key:
    description:
      - The GRE key of the one network to converge (1 to 4294967295). Use with O(peers);
        mutually exclusive with O(networks).
    type: int
  peers:
    description:
      - The other hosts of network O(key). Each peer needs a tunnel; this host must not be listed.
      - Each entry is checked by the module (unknown or missing keys, types, duplicates), and an
        error names the entry, for example C(peers[2].remote_ip).
    type: list
    elements: dict
    suboptions:
      host_id:
        description: The peer's CloudStack host id.
        type: int
        required: true
      remote_ip:
        description: The peer's underlay (tunnel endpoint) address, IPv4 or IPv6.
        type: str
        required: true
  bridge:
    description:
      - Bridge of network O(key); default C(OVSTunnel<key>). At most 15 bytes in UTF-8.
    type: str
  networks:
    description:
      - Several networks at once, each C({key, peers, bridge}) with the meaning of O(key),
        O(peers) and O(bridge). All of them are converged in one transaction. One bridge carries
        one network.
    type: list
    elements: dict
  mesh_var:
    description:
      - The name of a variable that holds the whole mesh checked by
        P(cloudstack.ovs.gre_mesh_checked#filter) (kept with C(set_fact), as C(playbooks/gre_mesh.yml)
        does). The action on the control node takes this host's networks and peers from it
        (what P(cloudstack.ovs.gre_mesh_networks#filter) gives for C(inventory_hostname)) and passes
        them to the module as O(networks), without templating them per host (docs/scale.md).
      - Mutually exclusive with O(networks), O(key), O(peers) and O(bridge). Fails when the host
        has no entry in the checked mesh.
      - The result's C(invocation.module_args) then shows O(mesh_var) as given, not the networks
        it expanded to (the result's RV(networks) lists them with their tunnels).
      - A host that carries no network in the checked mesh is skipped (C(skipped), nothing read
        or changed), as a C(when) on its networks would skip it, without a template to compile in
        every host's worker (docs/scale.md).
    type: str
    version_added: 0.3.0
  mesh_check_var:
    description:
      - With O(mesh_var) only. The name of the variable registered by the task that checked the
        mesh (C(set_fact) with P(cloudstack.ovs.gre_mesh_checked#filter), C(run_once),
        C(ignore_errors)). When that task failed, this host fails with its message before
        anything is read or changed, so that a wrong entry fails every host of the run, not only
        the one the check ran on (C(playbooks/gre_mesh.yml)).
    type: str
    version_added: 0.3.0
  host_vars:
    description:
      - With O(mesh_var) only. Options taken from this host's inventory variables, as a mapping of
        option name to variable name, for example O(purge) to C(cloudstack_gre_purge). An option
        named here takes the variable's value (templated as the play would) when the host has
        that variable and it is not null, and otherwise the value the task gives, or the module's
        default.
      - The options it can name are O(datapath_type), O(local_ip), O(db), O(purge) and
        O(timeout). It does what C(default(omit)) on the variable does for each, without a template
        compiled in every host's worker (docs/scale.md).
    type: dict
    version_added: 0.3.0
  return_tunnels:
    description:
      - Whether RV(networks) lists each network's tunnels (C(tunnels)), which is 8 x (N-1)
        entries a host on an 8-network mesh of N hosts, sent back to the control node and
        handled there on every run (docs/scale.md).
      - V(always) lists them. V(verbose) lists them only when Ansible runs at C(-v) or more
        (what C(playbooks/gre_mesh.yml) uses). V(never) does not. C(tunnel_count) is always there,
        and every tunnel added, removed or changed is always in RV(changes) and RV(actions).
    type: str
    choices: [always, verbose, never]
    default: always
    version_added: 0.3.0
  local_ip:
    description:
      - The local tunnel endpoint, set as C(options:local_ip) on every tunnel. Not set when not given
        (OVS picks the source address from its routing table).
    type: str
  datapath_type:
    description:
      - Datapath of the tunnel bridges. V(netdev) for userspace (DPDK) hosts. When not given, an
        existing bridge keeps its datapath and a new one gets V(system).
    type: str
    choices: [system, netdev]
  purge:
    description:
      - Which tunnel ports of the managed bridges that are not wanted are removed. Ports that
        are neither named like CloudStack's tunnels (C(t<key>-<src>-<dst>)) nor carry this
        module's marker (VM interfaces) are never touched.
      - V(ours) (the default) removes only tunnels this collection created (they carry
        C(external_ids:cloudstack-ovs-owner=gre_network)). A tunnel CloudStack's agent made, to a
        peer the inventory does not list (yet), is left alone, so a run cannot cut a live cloud.
      - V(all_stale) also removes CloudStack-named tunnels the agent made. This is the cleanup
        CloudStack itself cannot do any more on Python 3 agents (its C(ovstunnel.py
        destroy_tunnel) always fails); use it when the inventory is known to be complete.
      - V(none) removes no tunnel.
      - V(ours), V(all_stale) and V(none) are new in 0.2.0. The booleans of 0.1.0 still work -
        V(true) means V(ours), V(false) means V(none).
      - Every tunnel left alone is listed with the reason in RV(changes) (C(ports_left_alone))
        and in the diff; it is still set C(protected) (STP is off on these bridges).
    type: raw
    default: ours
  state:
    description:
      - V(present) converges the networks.
      - V(absent) removes what this collection made. A network's bridge is deleted, with every port on
        it (each named in RV(actions) and in C(ports_removed) of RV(changes)), when nothing else is on it.
        When ports this collection did not make are on it - a VM's port, a tunnel CloudStack's agent
        made (also one this collection adopted) - only this collection's tunnels go; the bridge stays
        with those ports, each listed with the reason in C(ports_left_alone) of RV(changes) and in a
        warning, unless O(remove_foreign) is true.
    type: str
    choices: [present, absent]
    default: present
  remove_foreign:
    description:
      - With O(state=absent), also remove the ports this collection did not make (VM ports, tunnels
        CloudStack's agent made) and so the bridge itself. A running VM on that network loses its port.
      - Refused with O(state=present).
    type: bool
    default: false
    version_added: 0.2.0
  flows:
    description:
      - Manage the flow table of the tunnel bridges. Set to V(false) when an OpenFlow controller owns
        the flows.
    type: bool
    default: true
  ovs_rundir:
    description:
      - Directory of the bridges' OpenFlow management sockets (C(<bridge>.mgmt)) for C(ovs-ofctl).
      - Default - the directory of the O(db) socket when O(db) is C(unix:), else C(/var/run/openvswitch).
    type: path
extends_documentation_fragment:
  - cloudstack.ovs.attributes
  - cloudstack.ovs.ovsdb
attributes:
  check_mode:
    description: Reads the database and the flow tables and reports what a real run changes; writes nothing.
  diff_mode:
    description: Per network, the bridge markers, tunnels and flows before and after.
requirements:
  - ovs-ofctl (Open vSwitch) when O(flows=true)
notes:
  - A new tunnel port's ofport is assigned by ovs-vswitchd; the module waits for it (up to O(timeout))
    before it writes the flows.
seealso:
  - module: cloudstack.ovs.ovs_bridge
  - module: cloudstack.ovs.ovs_info
'''

EXAMPLES = r'''
- name: Check the whole mesh once for the run
  ansible.builtin.set_fact:
    gre_mesh_checked: "{{ hostvars | cloudstack.ovs.gre_mesh_checked(groups['kvm_hosts'], ansible_play_hosts_all) }}"
  run_once: true

- name: Each host's networks and peers from it (its host id too; a host without networks is skipped)
  cloudstack.ovs.gre_network:
    mesh_var: gre_mesh_checked

- name: The same, every host failing when the check failed, purge from the inventory where set
  cloudstack.ovs.gre_network:
    mesh_var: gre_mesh_checked
    mesh_check_var: gre_mesh_check   # registered by the check task (ignore_errors: true)
    host_vars:
      purge: cloudstack_gre_purge

- name: One network on host 1, peers 2 and 3
  cloudstack.ovs.gre_network:
    host_id: 1
    key: 1001
    peers:
      - {host_id: 2, remote_ip: 192.0.2.12}
      - {host_id: 3, remote_ip: 192.0.2.13}
    datapath_type: netdev

- name: The whole mesh of this host in one call and one transaction
  cloudstack.ovs.gre_network:
    host_id: "{{ cloudstack_host_id }}"
    networks:
      - key: 1001
        peers: [{host_id: 2, remote_ip: 192.0.2.12}]
      - key: 1002
        peers: [{host_id: 3, remote_ip: 192.0.2.13}]

- name: Remove a network's tunnels, and its bridge unless VM ports or agent-made tunnels are on it
  cloudstack.ovs.gre_network:
    host_id: 1
    key: 1002
    state: absent

- name: Remove a network's bridge whatever is on it
  cloudstack.ovs.gre_network:
    host_id: 1
    key: 1002
    state: absent
    remove_foreign: true
'''

RETURN = r'''
networks:
  description:
    - Per network, its bridge and tunnels as they are after the call (as they would be, in check mode).
    - C(tunnel_count) (new in 0.3.0) is the number of its tunnels; C(tunnels) lists them, unless
      O(return_tunnels) leaves them out.
  returned: always
  type: list
  elements: dict
  sample:
    - key: 1001
      bridge: OVSTunnel1001
      state: present
      tunnel_count: 1
      tunnels:
        - {name: t1001-1-2, peer_host_id: 2, remote_ip: 192.0.2.12, ofport: 1, link_state: up}
changes:
  description:
    - Per network key, the tunnel ports added, removed and changed, the unwanted tunnels left
      alone (with the reason, see O(purge)), and how many flows were added and removed (the
      flows themselves are in RV(diff)).
  returned: always
  type: dict
  sample:
    "1001":
      ports_added: [t1001-1-3]
      ports_removed: []
      ports_changed: []
      ports_left_alone:
        - name: t1001-1-8
          remote_ip: 192.0.2.18
          reason: not wanted, but not created by this collection ...
      flows_added: 2
      flows_removed: 0
actions:
  description: What was done (in check mode, what would be done), one line per change.
  returned: always
  type: list
  elements: str
diff:
  description: Per network, bridge markers, tunnels and flows before and after (diff mode).
  returned: when diff mode is on
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudstack.ovs.plugins.module_utils.gre_names import GRE_COLUMNS
from ansible_collections.cloudstack.ovs.plugins.module_utils.gre_network import GreNetwork
from ansible_collections.cloudstack.ovs.plugins.module_utils.gre_request import (
    RETURN_TUNNELS,
    gre_request,
    mesh_invocation,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.ovsdb import ovsdb_context
from ansible_collections.cloudstack.ovs.plugins.module_utils.ovsdb_options import (
    DATAPATH_TYPES,
    ovsdb_argument_spec,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.plan import run_module


def argument_spec():
    spec = dict(
        # required without mesh_var (checked in gre_request); with it, the action gives it
        host_id=dict(type='int'),
        key=dict(type='int', no_log=False),
        # No suboptions for peers and networks: Ansible's errors would not name the entry
        # (see gre_request.gre_request); gre_request checks each one, naming peers[i].<key>.
        peers=dict(type='list', elements='dict'),
        bridge=dict(type='str'),
        networks=dict(type='list', elements='dict'),
        # the action plugin (plugins/action/gre_network.py) gives the networks it names; the
        # module gets the name only to leave those networks out of its invocation echo
        mesh_var=dict(type='str'),
        # the action's (it fails or skips the host, or sets options, before the module runs)
        mesh_check_var=dict(type='str'),
        host_vars=dict(type='dict'),
        local_ip=dict(type='str'),
        datapath_type=dict(type='str', choices=list(DATAPATH_TYPES)),
        purge=dict(type='raw', default='ours'),
        return_tunnels=dict(type='str', default='always', choices=list(RETURN_TUNNELS)),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        remove_foreign=dict(type='bool', default=False),
        flows=dict(type='bool', default=True),
        ovs_rundir=dict(type='path'),
    )
    spec.update(ovsdb_argument_spec())
    return spec


def main():
    # key or networks (not both), peers and bridge only with key: gre_request checks these,
    # as the spec cannot (Ansible counts an option given as null as given).
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    gre = GreNetwork(module)
    run_module(module, gre.plan, gre.apply,
               parse=lambda params: gre_request(params, module._verbosity),
               # of ports and interfaces, the session monitors only what the plan reads and
               # writes: an unchanged re-run's read of a 1,016-port host is the cost that counts
               context=ovsdb_context(module, columns=GRE_COLUMNS),
               invocation=mesh_invocation(module.params))


if __name__ == '__main__':
    main()
