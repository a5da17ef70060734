# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The plan of ``gre_network``: CloudStack's GRE isolation on one host - one ``OVSTunnel<key>``
bridge per guest network with a GRE port to every peer host - from what the host has now.

Pure: nothing here talks to OVSDB or ovs-vswitchd. ``plan_networks`` compares the request
(``gre_request.py``) with the bridges as ``OvsdbSession.bridges()`` returns them and gives the
ovsdb ops and the diff of every network; ``plan_mesh`` wraps them in a ``MeshPlan`` and
``settle`` completes it from the interfaces and the installed flow tables: the flow
replacements needed, the actions, the diff and the module's ``networks`` and ``changes``.
``gre_network.py`` does the reading and writing around it. The names, markers and flow tables
live in ``gre_names.py`` and ``gre_flows.py`` (imported from here too, as before).
See docs/gre_network.md for what is mirrored from CloudStack and what is not, and why.
"""

from ansible_collections.cloudstack.ovs.plugins.module_utils.bridge import plan_bridge
from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import ParamError
from ansible_collections.cloudstack.ovs.plugins.module_utils.gre_flows import (
    compare_flows,
    desired_flows,
    installed_flows,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.gre_names import (
    ADOPTED_KEY,
    OWNER_KEY,
    OWNER_VALUE,
    PURGE_ALL_STALE,
    PURGE_NONE,
    PURGE_OURS,
    bridge_markers,
    is_ours,
    is_tunnel_port,
    port_interface,
    port_name,
    tunnel_ports,
    tunnel_view,
    wanted_options,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.gre_request import normalize_purge
from ansible_collections.cloudstack.ovs.plugins.module_utils.ovsdb_ops import (
    describe_op,
    map_ops,
    plan_map,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.plan import Plan

# The op of a flow table to replace; not an ovsdb op: written through ovs-ofctl after the
# transaction, when the tunnels have their ofports.
FLOWS_OP = 'replace_flows'


def foreign_reason(port):
    """Why a port of a tunnel bridge is not this collection's to remove; None when it is."""
    if is_ours(port):
        return None
    if is_tunnel_port(port):
        adopted = port.get('external_ids', {}).get(ADOPTED_KEY) == OWNER_VALUE
        return ('tunnel made by CloudStack\'s agent or by hand%s, not by this collection'
                % (' (adopted: managed, not made)' if adopted else ''))
    iface = port_interface(port) or {}
    return 'not a tunnel: a VM\'s or another port (interface type %s)' % (
        iface.get('type') or 'system')


def plan_absent(current_bridge, before, remove_foreign=False):
    """``state=absent`` for one network: what this collection made goes.

    The bridge goes, with every port on it (each named in the op, so in the actions), when
    nothing else is on it or ``remove_foreign`` says so. Otherwise only this collection's
    tunnels go; the bridge stays with the other ports - VM ports, tunnels CloudStack's agent
    made - each listed in ``left_alone`` with the reason.
    """
    gone = dict(bridge=before['bridge'], exists=False, other_config={}, stp_enable=False,
                tunnels={})
    if current_bridge is None:
        return [], dict(before=before, after=dict(before), left_alone=[], removed_ports=[])
    bridge = current_bridge['name']
    ports = dict((n, p) for n, p in current_bridge['ports'].items() if n != bridge)
    foreign = dict((n, foreign_reason(p)) for n, p in ports.items() if foreign_reason(p))
    if not foreign or remove_foreign:
        return ([dict(op='del_bridge', bridge=bridge, ports=sorted(ports))],
                dict(before=before, after=gone, left_alone=[], removed_ports=sorted(ports)))
    ours = sorted(n for n in ports if n not in foreign)
    after = dict(before, tunnels=dict((n, t) for n, t in before['tunnels'].items()
                                      if n not in ours))
    left_alone = [dict(name=n, remote_ip=tunnel_view(ports[n])['remote_ip'], reason=foreign[n])
                  for n in sorted(foreign)]
    return ([dict(op='del_port', bridge=bridge, port=n) for n in ours],
            dict(before=before, after=after, left_alone=left_alone, removed_ports=ours))


def plan_network(current_bridge, all_ports, host_id, local_ip, network, datapath_type=None,
                 purge=PURGE_OURS, state='present', remove_foreign=False):
    """Ops and diff for one network.

    ``current_bridge`` is the bridge as ``ovsdb.bridge_data`` returns it (or None);
    ``all_ports`` maps every port name of the switch to its bridge name (tunnel names must
    be unique switch-wide). Returns ``(ops, diff)`` where diff has ``before``/``after`` views
    of the bridge markers, STP and tunnels, and ``left_alone``: the unwanted tunnels this
    run did not remove, each with the reason.

    STP: the module owns ``stp_enable`` of the bridges it manages and keeps it false. The
    mesh's loop guard is ``protected`` on every tunnel port (split horizon); STP on top of it
    blocks one tunnel of a triangle and the detour then meets two protected ports, so VMs
    lose each other. For the same reason every tunnel port on the bridge is protected, also
    one left alone.

    ``state=absent``: see ``plan_absent`` (``remove_foreign``).
    """
    purge = normalize_purge(purge)
    bridge = network['bridge']
    key = network['key']
    before_tunnels = {}
    if current_bridge is not None:
        for name, port in tunnel_ports(current_bridge).items():
            before_tunnels[name] = tunnel_view(port)
    stp = bool((current_bridge or {}).get('stp_enable'))
    before = dict(bridge=bridge, exists=current_bridge is not None,
                  other_config=dict(sorted((current_bridge or {}).get('other_config', {}).items())),
                  stp_enable=stp, tunnels=dict(sorted(before_tunnels.items())))

    if state == 'absent':
        return plan_absent(current_bridge, before, remove_foreign)

    bridge_plan = plan_bridge(
        current_bridge, bridge, datapath_type=datapath_type,
        other_config=bridge_markers((current_bridge or {}).get('other_config'), key, bridge,
                                    host_id),
        external_ids={OWNER_KEY: OWNER_VALUE})
    ops = bridge_plan.ops
    if stp:
        ops.append(dict(op='set', table='Bridge', record=bridge, column='stp_enable',
                        value=False))

    desired = {}
    for peer in network['peers']:
        desired[port_name(key, host_id, peer['host_id'])] = dict(
            peer_host_id=peer['host_id'],
            options=wanted_options(key, peer['remote_ip'], local_ip))

    current_ports = (current_bridge or {}).get('ports', {})
    after_tunnels = dict(before_tunnels)
    for name in sorted(desired):
        want = desired[name]
        port = current_ports.get(name)
        if port is None:
            elsewhere = all_ports.get(name)
            if elsewhere is not None:
                raise ParamError('%s: tunnel port %s for peer %d already exists on bridge %s, '
                                 'not on %s (got key=%d)' % (
                                     'peers', name, want['peer_host_id'], elsewhere, bridge, key))
            ops.append(dict(op='add_port', bridge=bridge, port=name,
                            port_columns={'protected': True,
                                          'external_ids': {OWNER_KEY: OWNER_VALUE}},
                            iface_columns={'type': 'gre', 'options': dict(want['options'])}))
        else:
            iface = port_interface(port) or dict(name=name, type='system', options={})
            if iface['type'] != 'gre':
                ops.append(dict(op='set', table='Interface', record=iface['name'], column='type',
                                value='gre'))
            _new, to_set, to_remove = plan_map(iface['options'], want['options'], purge=True)
            ops.extend(map_ops('Interface', iface['name'], 'options', to_set, to_remove))
            if not port.get('protected'):
                ops.append(dict(op='set', table='Port', record=name, column='protected',
                                value=True))
            # A port the agent made is adopted, not claimed: marked as managed, but a default
            # run never deletes it (only ports carrying the owner marker are ours).
            if not is_ours(port) and \
                    port.get('external_ids', {}).get(ADOPTED_KEY) != OWNER_VALUE:
                ops.append(dict(op='set', table='Port', record=name, column='external_ids',
                                value={ADOPTED_KEY: OWNER_VALUE}))
        after_tunnels[name] = dict(remote_ip=want['options']['remote_ip'], key=str(key),
                                   local_ip=want['options'].get('local_ip'), type='gre')
    left_alone = []
    for name in sorted(before_tunnels):
        if name in desired:
            continue
        port = current_ports[name]
        if purge == PURGE_ALL_STALE or (purge == PURGE_OURS and is_ours(port)):
            ops.append(dict(op='del_port', bridge=bridge, port=name))
            del after_tunnels[name]
            continue
        if purge == PURGE_NONE:
            reason = 'not wanted, but purge=none removes no tunnel'
        else:
            reason = ('not wanted, but not created by this collection (no external_ids:%s=%s; '
                      'made by CloudStack\'s agent or by hand): purge=ours keeps it, '
                      'purge=all_stale removes it' % (OWNER_KEY, OWNER_VALUE))
        left_alone.append(dict(name=name, remote_ip=before_tunnels[name]['remote_ip'],
                               reason=reason))
        if not port.get('protected'):
            # STP is off on this bridge: an unprotected tunnel could close a loop.
            ops.append(dict(op='set', table='Port', record=name, column='protected',
                            value=True))
    after = dict(bridge=bridge, exists=True, other_config=bridge_plan.after['other_config'],
                 stp_enable=False, tunnels=dict(sorted(after_tunnels.items())))
    return ops, dict(before=before, after=after, left_alone=left_alone)


def plan_networks(bridges, host_id, local_ip, networks, datapath_type=None, purge=PURGE_OURS,
                  state='present', remove_foreign=False):
    """Ops for every network in one list (one transaction) and the diff per network."""
    all_ports = {}
    for bname, bdata in bridges.items():
        for pname in bdata['ports']:
            all_ports[pname] = bname
    ops = []
    diffs = []
    for network in networks:
        net_ops, diff = plan_network(bridges.get(network['bridge']), all_ports, host_id,
                                     local_ip, network, datapath_type=datapath_type,
                                     purge=purge, state=state, remove_foreign=remove_foreign)
        ops.extend(net_ops)
        diff['key'] = network['key']
        diffs.append(diff)
    return ops, diffs


class MeshPlan(Plan):
    """The ``Plan`` of ``gre_network``, with what ``settle`` and the applier need besides.

    ``request`` is the parse step's result; ``db_ops`` the ovsdb ops (one transaction);
    ``diffs`` the per-network diffs of ``plan_networks``; ``existing`` the bridges of the
    request that exist already (the others have no flows to read); ``tables`` is set by
    ``settle``: per network whose flows were compared, its bridge, its tunnels (with ofport,
    link state and error), the wanted flows and whether the installed ones differ.
    """

    def __init__(self, request, db_ops, diffs, existing):
        super(MeshPlan, self).__init__(db_ops, actions=[describe_op(op) for op in db_ops])
        self.request = request
        self.db_ops = list(db_ops)
        self.diffs = diffs
        self.existing = existing
        self.tables = []


def plan_mesh(bridges, request):
    """The database half of the plan: ``MeshPlan`` with the ovsdb ops; ``settle`` completes it.

    ``bridges`` as ``OvsdbSession.bridges()`` returns them; ``request`` from ``gre_request``.
    """
    ops, diffs = plan_networks(bridges, request['host_id'], request['local_ip'],
                               request['networks'], datapath_type=request['datapath_type'],
                               purge=request['purge'], state=request['state'],
                               remove_foreign=request.get('remove_foreign', False))
    existing = [net['bridge'] for net in request['networks'] if net['bridge'] in bridges]
    made = MeshPlan(request, ops, diffs, existing)
    if request['state'] == 'absent':
        for net, diff in zip(request['networks'], diffs):
            if diff['left_alone']:
                made.warnings.append(
                    'state=absent kept bridge %s: ports this collection did not make are on it: '
                    '%s; remove_foreign=true removes them with the bridge'
                    % (net['bridge'], '; '.join('%s (%s)' % (p['name'], p['reason'])
                                                for p in diff['left_alone'])))
    return made


def interfaces(bridges):
    """Every interface of the switch by name, from ``OvsdbSession.bridges()``."""
    ifaces = {}
    for bridge in bridges.values():
        for port in bridge['ports'].values():
            ifaces.update(port['interfaces'])
    return ifaces


def settle(plan, ifaces, installed=None):
    """Complete ``plan`` from the interfaces and the installed flow tables; return it.

    ``ifaces`` maps interface names to their rows (``ofport``, ``link_state``, ``error``).
    ``installed`` maps the existing bridges to their ``dump-flows`` output; a bridge this call
    creates is compared as empty. ``None``: the flows are not compared - not managed, or
    compared after the commit (the applier settles the plan again then, with the ofports and
    flow tables as they are after it). A tunnel without an ofport yet (not created, in check
    mode) is shown as ``<name>`` in the wanted flows, so they differ.

    Sets ``ops`` (the ovsdb ops, then one ``FLOWS_OP`` per bridge whose flows differ),
    ``actions``, the diff per network key, ``tables`` and the result: ``networks`` and
    ``changes`` as the module returns them.
    """
    request = plan.request
    ops, actions, tables = list(plan.db_ops), [describe_op(op) for op in plan.db_ops], []
    networks, changes, before, after = [], {}, {}, {}
    for net, diff in zip(request['networks'], plan.diffs):
        key, bridge = net['key'], net['bridge']
        diff_before, diff_after = dict(diff['before']), dict(diff['after'])
        before_t, after_t = diff_before['tunnels'], diff_after['tunnels']
        change = dict(
            ports_added=sorted(set(after_t) - set(before_t)),
            ports_removed=diff.get('removed_ports', sorted(set(before_t) - set(after_t))),
            ports_changed=sorted(n for n in set(after_t) & set(before_t)
                                 if after_t[n] != before_t[n]),
            ports_left_alone=diff['left_alone'], flows_added=0, flows_removed=0)
        tunnels = []
        if request['state'] == 'present':
            for peer in net['peers']:
                name = port_name(key, request['host_id'], peer['host_id'])
                iface = ifaces.get(name) or {}
                tunnels.append(dict(name=name, peer_host_id=peer['host_id'],
                                    remote_ip=peer['remote_ip'], ofport=iface.get('ofport'),
                                    link_state=iface.get('link_state'),
                                    error=iface.get('error')))
        if installed is not None:
            wanted = desired_flows(dict((t['name'], t['ofport']) for t in tunnels))
            flows = installed_flows(installed.get(bridge, ''))
            added, removed = compare_flows(flows, wanted)
            if added or removed:
                ops.append(dict(op=FLOWS_OP, bridge=bridge, flows=wanted))
                actions.append('replace flows of bridge %s (%d added, %d removed)'
                               % (bridge, len(added), len(removed)))
            change.update(flows_added=len(added), flows_removed=len(removed))
            diff_before['flows'] = sorted(flows.values())
            diff_after['flows'] = wanted
            tables.append(dict(bridge=bridge, tunnels=[dict(t) for t in tunnels], wanted=wanted,
                               differs=bool(added or removed)))
        for tunnel in tunnels:
            tunnel.pop('error')
        network = dict(key=key, bridge=bridge, state=request['state'], tunnel_count=len(tunnels))
        if request.get('tunnels_in_result', True):
            network['tunnels'] = tunnels
        networks.append(network)
        changes[str(key)] = change
        before[str(key)] = diff_before
        after[str(key)] = dict(diff_after, left_alone=diff['left_alone'])
    plan.ops, plan.actions, plan.tables = ops, actions, tables
    plan.before, plan.after = before, after
    plan.result.update(networks=networks, changes=changes)
    return plan
