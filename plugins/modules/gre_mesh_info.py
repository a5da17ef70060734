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
  ovs_rundir:
    description:
      - Directory of ovs-vswitchd's control socket and of the bridges' OpenFlow management sockets
        (C(<bridge>.mgmt)).
      - Default - the directory of the O(db) socket when O(db) is C(unix:), else C(/var/run/openvswitch).
    type: path
extends_documentation_fragment:
  - cloudstack.ovs.ovsdb
attributes:
  check_mode:
    support: full
    description: Reads only; runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to show.
requirements:
  - ovsdbapp (on the managed host)
  - ovs-ofctl (Open vSwitch), ip (iproute2, with C(-j))
notes:
  - Every ovs-ofctl call and every control command is bounded by O(timeout) seconds; up to six of
    them run at a time, and C(ip) runs while OVSDB is read.
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
  returned: always
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
      description: Ports by name, each with C(protected), C(external_ids) and C(interfaces) (by name,
        each with C(type), C(options), C(ofport), C(link_state), C(error)).
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
          (a broadcast from each tunnel port), C(unicast) (to each learned MAC on a tunnel port), each with
          C(tunnels) (every encapsulated copy, C(remote_ip) and C(key)), C(actions) (the datapath actions)
          and C(notes); C(error) when tracing failed.
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
  returned: always
  type: list
  elements: dict
  sample:
    - {ifname: cloudbr0, address: 192.0.2.11, prefixlen: 24, ovs: true}
'''


from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudstack.ovs.plugins.module_utils.appctl import Appctl
from ansible_collections.cloudstack.ovs.plugins.module_utils.cloudstack_agent import (
    agent_considers_configured,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import ParamError
from ansible_collections.cloudstack.ovs.plugins.module_utils.gre_flows import (
    BROADCAST_MAC,
    flow_lines,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.gre_names import (
    CS_HOST_SETUP,
    tunnel_ports,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.mesh_reading import (
    is_tunnel_bridge,
    ovs_addresses,
    parse_fdb,
    parse_trace,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.ofctl import Ofctl, default_rundir
from ansible_collections.cloudstack.ovs.plugins.module_utils.ovsdb import OvsdbSession
from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import OvsdbError
from ansible_collections.cloudstack.ovs.plugins.module_utils.ovsdb_options import (
    ovsdb_argument_spec,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.ovsdb_rows import bridge_data
from ansible_collections.cloudstack.ovs.plugins.module_utils.plan import Plan, run_module

# A locally administered source address for the traced frames (tracing never learns it).
TRACE_SRC_MAC = '02:00:00:00:00:01'
# ovs-ofctl calls and control commands at a time (each bounded by the timeout; read-only)
WORKERS = 6


class Reader(Ofctl):
    """ovs-ofctl, ovs-vswitchd's control commands (``appctl.Appctl``) and ip, each bounded by
    the module's timeout; read-only calls only."""

    def __init__(self, module, rundir, timeout):
        super(Reader, self).__init__(module, rundir, timeout)
        self.ip = module.get_bin_path('ip', required=True)
        self.appctl = Appctl(rundir, timeout)

    def flows(self, bridge):
        try:
            rc, out, err = self.dump_flows(bridge)
        except OvsdbError as exc:
            return None, str(exc)  # a hung ovs-vswitchd is a finding, not the end of the read
        if rc != 0:
            return None, (err or out).strip() or 'rc=%d' % rc
        return flow_lines(out), None

    def appctl_call(self, *args):
        """One ovs-vswitchd control command (``ovs-appctl <args>``); its text answer."""
        return self.appctl.call(*args)

    def trace(self, bridge, flow):
        return parse_trace(self.appctl_call('ofproto/trace', bridge, flow))

    def addresses(self):
        rc, out, err = self.module.run_command([self.ip, '-j', 'addr', 'show'])
        if rc != 0:
            raise OvsdbError('addresses: ip -j addr show failed: %s' % (err or out).strip())
        return out


def tunnel_ofports(bridge):
    """OpenFlow port number -> tunnel port name, for the bridge's tunnel ports."""
    tunnels = {}
    for pname, port in tunnel_ports(bridge).items():
        for iface in port['interfaces'].values():
            if iface.get('ofport') and iface['ofport'] > 0:
                tunnels[iface['ofport']] = pname
    return tunnels


def _guarded(func, *args):
    """(result, None), or (None, error) when a control command failed or timed out."""
    try:
        return func(*args), None
    except OvsdbError as exc:
        return None, str(exc)


def read_bridges(reader, bridges, trace, max_unicast):
    """Every bridge's flows and (with ``trace``) the three traces of the module's description.

    The ovs-ofctl calls and control commands are independent, each bounded by the timeout:
    they run WORKERS at a time. A bridge's traces stop at its first failed call (``error``),
    in the order broadcast, from each tunnel, learned MACs, unicast; what came before is kept.
    """
    pending = {}
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for name, data in bridges.items():
            job = pending[name] = dict(flows=pool.submit(reader.flows, name))
            if not trace:
                continue
            job['tunnels'] = tunnels = tunnel_ofports(data)
            job['broadcast'] = pool.submit(_guarded, reader.trace, name,
                                           'in_port=LOCAL,dl_src=%s,dl_dst=%s'
                                           % (TRACE_SRC_MAC, BROADCAST_MAC))
            job['from_tunnels'] = [(pname, pool.submit(_guarded, reader.trace, name,
                                                       'in_port=%d,dl_src=%s,dl_dst=%s'
                                                       % (ofport, TRACE_SRC_MAC, BROADCAST_MAC)))
                                   for ofport, pname in sorted(tunnels.items())]
            job['fdb'] = pool.submit(_guarded, reader.appctl_call, 'fdb/show', name)
        # the unicast traces need the learned MACs: a second round
        for name, job in pending.items():
            bridges[name]['flows'], bridges[name]['flows_error'] = job['flows'].result()
            if not trace:
                bridges[name]['trace'] = None
                continue
            result = bridges[name]['trace'] = dict(broadcast=None, from_tunnels=[], unicast=[],
                                                   error=None)
            result['broadcast'], result['error'] = job['broadcast'].result()
            for pname, future in job['from_tunnels']:
                entry, error = future.result()
                if result['error'] is None and error is not None:
                    result['error'] = error
                if result['error'] is None:
                    entry['port'] = pname
                    result['from_tunnels'].append(entry)
            fdb, error = job['fdb'].result()
            if result['error'] is None and error is not None:
                result['error'] = error
            if result['error'] is not None:
                continue
            tunnels = job['tunnels']
            learned = [e for e in parse_fdb(fdb) if e['port'] in tunnels][:max_unicast]
            job['unicast'] = [(entry, pool.submit(_guarded, reader.trace, name,
                                                  'in_port=LOCAL,dl_src=%s,dl_dst=%s'
                                                  % (TRACE_SRC_MAC, entry['mac'])))
                              for entry in learned]
        for name, job in pending.items():
            result = bridges[name]['trace']
            for entry, future in job.get('unicast', []):
                traced, error = future.result()
                if result['error'] is None and error is not None:
                    result['error'] = error
                if result['error'] is None:
                    traced.update(mac=entry['mac'], port=job['tunnels'][entry['port']])
                    result['unicast'].append(traced)


def argument_spec():
    spec = dict(
        host_id=dict(type='int'),
        bridges=dict(type='list', elements='str', default=[]),
        trace=dict(type='bool', default=True),
        max_unicast_traces=dict(type='int', default=16),
        ovs_rundir=dict(type='path'),
    )
    spec.update(ovsdb_argument_spec())
    return spec


def mesh_info_request(params):
    """The parameters checked once, before anything is read (what a spec cannot say)."""
    if params['host_id'] is not None and params['host_id'] < 1:
        raise ParamError('host_id: must be a positive CloudStack host id (got %r)'
                         % params['host_id'])
    if params['max_unicast_traces'] < 0:
        raise ParamError('max_unicast_traces: must be 0 or more (got %r)'
                         % params['max_unicast_traces'])
    request = dict(params)
    request['ovs_rundir'] = params['ovs_rundir'] or default_rundir(params['db'])
    return request


def read_mesh_info(module, request):
    """This host's side of the mesh: a Plan with no changes, the reading as its result."""
    reader = Reader(module, request['ovs_rundir'], request['timeout'])
    with ThreadPoolExecutor(max_workers=1) as side:
        addresses = side.submit(reader.addresses)  # read while OVSDB is
        with OvsdbSession(module) as session:
            rows = list(session.api.tables['Bridge'].rows.values())
            internal = set(i.name for i in session.api.tables['Interface'].rows.values()
                           if i.type == 'internal')
            bridges = {}
            for row in rows:
                data = bridge_data(row)
                if not (is_tunnel_bridge(data) or row.name in request['bridges']):
                    continue
                data['rstp_enable'] = bool(row.rstp_enable)
                data['controllers'] = sorted(c.target for c in row.controller)
                bridges[row.name] = data
        missing = [b for b in request['bridges'] if b not in bridges]
        if missing:
            raise ParamError('bridges: no such bridge: %s' % ', '.join(missing))
        host_id = request['host_id']
        for data in bridges.values():
            setup = data['other_config'].get(CS_HOST_SETUP)
            data['agent_configured'] = (None if host_id is None
                                        else agent_considers_configured(setup, host_id))
        read_bridges(reader, bridges, request['trace'], request['max_unicast_traces'])
        return Plan(result=dict(host_id=host_id, bridges=bridges,
                                addresses=ovs_addresses(addresses.result(), internal)))


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    # Read-only: no ops, no apply; OvsdbSession is opened in the read, after ``ip`` started.
    run_module(module, lambda _context, request: read_mesh_info(module, request),
               parse=mesh_info_request)


if __name__ == '__main__':
    main()
