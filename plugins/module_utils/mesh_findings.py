# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The mesh doctor's checks: every kind of finding, and how one host is checked.

Each finding has a ``kind`` (``KINDS``: its severity and title; docs/mesh-doctor.md explains
each), the host, network, peer and port it is about, what is wrong, the fix, and the host
pairs it breaks (``pairs``, for the matrix of ``mesh_doctor.diagnose``).

What "right" means is not restated here: the wanted tunnels, options, ``protected`` flags and
flow table come from the planner of ``gre_network`` (``gre.plan_network``, ``gre_flows.desired_flows``),
and whether CloudStack's agent considers a bridge set up from ``cloudstack_agent``.
Pure functions only.
"""

import re

from ansible_collections.cloudstack.ovs.plugins.module_utils import gre
from ansible_collections.cloudstack.ovs.plugins.module_utils import gre_flows
from ansible_collections.cloudstack.ovs.plugins.module_utils import gre_names
from ansible_collections.cloudstack.ovs.plugins.module_utils.cloudstack_agent import (
    agent_considers_configured,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.mesh_reading import bridge_key

GRE_MESH = 'cloudstack.ovs.gre_mesh'
KVM_HOST = 'cloudstack.ovs.kvm_host'
ERROR = 'error'
WARNING = 'warning'

# kind -> (severity, short title). The docs (docs/mesh-doctor.md) explain each one.
KINDS = {
    'inventory-invalid': (ERROR, 'inventory entry wrong: host not checked'),
    'host-unreadable': (ERROR, 'host could not be read'),
    'bridge-missing': (ERROR, 'network bridge missing'),
    'network-extra': (WARNING, 'network bridge not in the inventory'),
    'tunnel-missing': (ERROR, 'tunnel missing'),
    'tunnel-extra': (ERROR, 'tunnel to a host that is no peer'),
    'tunnel-unknown-host': (WARNING, 'tunnel to a host not in the inventory'),
    'tunnel-wrong-remote-ip': (ERROR, 'tunnel points at the wrong address'),
    'tunnel-wrong-key': (ERROR, 'tunnel has the wrong GRE key'),
    'tunnel-wrong-type': (ERROR, 'tunnel is not a GRE interface'),
    'tunnel-error': (ERROR, 'Open vSwitch reports an error on the tunnel'),
    'tunnel-not-protected': (ERROR, 'tunnel port not protected (split horizon)'),
    'endpoint-not-on-ovs': (ERROR, 'tunnel endpoint not held on an OVS bridge'),
    'endpoint-mismatch': (ERROR, 'tunnel endpoint differs from what the peers use'),
    'stp-on': (ERROR, 'spanning tree on a tunnel bridge'),
    'fail-mode-secure': (ERROR, 'fail_mode secure without a controller'),
    'flows-missing': (ERROR, 'split-horizon flows missing'),
    'flows-differ': (ERROR, 'flows that gre_network does not install'),
    'flows-unreadable': (WARNING, 'flow table could not be read'),
    'agent-not-configured': (WARNING, "CloudStack's agent will set the bridge up again"),
    'trace-broadcast': (ERROR, 'broadcast does not leave on every tunnel exactly once'),
    'trace-tunnel-to-tunnel': (ERROR, 'a frame from a tunnel goes into another tunnel'),
    'trace-unicast': (ERROR, 'unicast to a learned remote MAC takes the wrong way'),
    'trace-failed': (WARNING, 'forwarding could not be traced'),
}


def _fix_mesh(host):
    return 'ansible-playbook %s --limit %s' % (GRE_MESH, host)


def _on(host, command):
    return 'on %s: %s' % (host, command)


class Findings(object):
    """The findings of one run of the doctor."""

    def __init__(self):
        self.items = []

    def add(self, kind, host, what, fix, network=None, peer=None, port=None, pairs=()):
        severity, title = KINDS[kind]
        self.items.append(dict(kind=kind, severity=severity, title=title, host=host,
                               network=network, peer=peer, port=port, what=what, fix=fix,
                               pairs=sorted(set(tuple(p) for p in pairs))))


def host_pair(key, a, b):
    """A host pair of one network, in one order."""
    return (key, a, b) if a <= b else (key, b, a)


class Zone(object):
    """The checked hosts, indexed once per run of the doctor (not per host and network):
    ``by_name`` (name -> host), ``by_id`` (host id -> name), ``by_ip`` (underlay address ->
    name), ``members`` (network key -> its hosts' names, in the hosts' order) and ``keys``
    (the networks, sorted)."""

    def __init__(self, hosts):
        self.hosts = hosts
        self.by_name = dict((h['name'], h) for h in hosts)
        self.by_id = dict((h['host_id'], h['name']) for h in hosts)
        self.by_ip = dict((h['underlay_ip'], h['name']) for h in hosts)
        self.members = {}
        for host in hosts:
            for key in sorted(set(host['networks'])):
                self.members.setdefault(key, []).append(host['name'])
        self.keys = sorted(self.members)


def pairs_broken_by(findings):
    """{host pair: the error findings that break it}, each list in the order of ``findings``:
    one pass over the findings instead of one per host pair."""
    index = {}
    for finding in findings:
        if finding['severity'] != ERROR:
            continue
        for pair in finding['pairs']:
            index.setdefault(tuple(pair), []).append(finding)
    return index


def _find_bridge(info, key):
    bridges = (info or {}).get('bridges') or {}
    name = gre_names.default_bridge(key)
    if name in bridges:
        return bridges[name]
    for bridge in bridges.values():
        if bridge_key(bridge) == key:
            return bridge
    return None


def _ofport(port):
    iface = gre_names.port_interface(port) or {}
    return iface.get('ofport')


def _unknown_host(found, name, key, pname, remote_ip, owner):
    """A tunnel to a host the inventory does not have (left alone by ``purge: ours``)."""
    peer_id = gre_names.peer_host_id(pname)
    host = 'host %d' % peer_id if peer_id is not None else 'a host'
    found.add('tunnel-unknown-host', name,
              "%s: tunnel %s to %s (%s%s), not in the inventory: CloudStack's agent made it, or "
              'a host was removed; broadcasts of network %d leave on it too'
              % (name, pname, host, remote_ip,
                 ", the address of %s: was a host's id changed?" % owner if owner else '', key),
              'if %s belongs to the zone, add it to the inventory%s and run ansible-playbook %s; '
              'if it was removed: ansible-playbook %s --limit %s -e cloudstack_gre_purge=all_stale'
              % (host, ' (cloudstack_host_id %d)' % peer_id if peer_id is not None else '',
                 GRE_MESH, GRE_MESH, name),
              key, None, pname)


def _not_judged(bridge, unchecked):
    """The tunnel ports of ``bridge`` to hosts not checked (by host id or address)."""
    return set(n for n, p in gre_names.tunnel_ports(bridge).items()
               if gre_names.peer_host_id(n) in unchecked or
               gre_names.tunnel_view(p)['remote_ip'] in unchecked) if unchecked else set()


def check_tunnels(found, host, zone, key, bridge, members, unchecked=None):
    """Tunnels of one host in one network against what gre_network would leave.

    ``unchecked``: the host ids and addresses of hosts whose inventory entry is wrong; tunnels
    to them are not judged (their ``inventory-invalid`` finding says why). Returns the remote
    addresses of the tunnels to those and to hosts outside the inventory (already reported:
    the trace check expects a broadcast copy to each).
    """
    name = host['name']
    unchecked = unchecked or set()
    by_name, by_id, by_ip = zone.by_name, zone.by_id, zone.by_ip
    peers = [dict(host_id=by_name[m]['host_id'], remote_ip=by_name[m]['underlay_ip'])
             for m in members if m != name]
    network = dict(key=key, bridge=bridge['name'], peers=sorted(peers,
                                                                key=lambda p: p['host_id']))
    all_ports = dict((p, bridge['name']) for p in bridge['ports'])
    ops, diff = gre.plan_network(bridge, all_ports, host['host_id'], host['local_ip'], network,
                                 purge=gre_names.PURGE_OURS)
    before, after = diff['before']['tunnels'], diff['after']['tunnels']
    skip = _not_judged(bridge, unchecked)
    unknown = set(before[p]['remote_ip'] for p in skip)
    for pname in sorted(set(after) - set(before)):
        peer = by_id.get(gre_names.peer_host_id(pname))
        found.add('tunnel-missing', name,
                  '%s has no tunnel %s to %s (%s) in network %d'
                  % (name, pname, peer, after[pname]['remote_ip'], key),
                  _fix_mesh(name), key, peer, pname, [host_pair(key, name, peer)])
    for pname in sorted(set(before) - set(after) - skip):
        peer = by_id.get(gre_names.peer_host_id(pname)) or by_ip.get(before[pname]['remote_ip'])
        found.add('tunnel-extra', name,
                  '%s has tunnel %s to %s, which is no peer in network %d (inventory)'
                  % (name, pname, before[pname]['remote_ip'], key),
                  _fix_mesh(name), key, peer, pname,
                  [host_pair(key, name, peer)] if peer and peer in members else [])
    for pname in sorted(set(before) & set(after) - skip):
        have, want = before[pname], after[pname]
        peer = by_id.get(gre_names.peer_host_id(pname))
        if peer is None:
            # a finding of its own (it breaks no host pair of the inventory)
            _unknown_host(found, name, key, pname, have['remote_ip'],
                          by_ip.get(have['remote_ip']))
            unknown.add(have['remote_ip'])
            continue
        pair = [host_pair(key, name, peer)]
        if have['remote_ip'] != want['remote_ip']:
            owner = by_ip.get(have['remote_ip'])
            found.add('tunnel-wrong-remote-ip', name,
                      '%s: tunnel %s to %s has remote_ip %s, %s holds %s'
                      % (name, pname, peer, have['remote_ip'], peer, want['remote_ip'])
                      + (' (%s is %s\'s address)' % (have['remote_ip'], owner)
                         if owner and owner != peer else ''),
                      _fix_mesh(name), key, peer, pname, pair)
        if have['key'] != want['key']:
            found.add('tunnel-wrong-key', name,
                      '%s: tunnel %s has options:key=%s, network %d needs key %s'
                      % (name, pname, have['key'], key, want['key']),
                      _fix_mesh(name), key, peer, pname, pair)
        if have['type'] != 'gre':
            found.add('tunnel-wrong-type', name,
                      '%s: tunnel %s is type %s, not gre' % (name, pname, have['type']),
                      _fix_mesh(name), key, peer, pname, pair)
        if have['local_ip'] != want['local_ip']:
            found.add('endpoint-mismatch', name,
                      '%s: tunnel %s sends from options:local_ip=%s; the peers send to %s%s'
                      % (name, pname, have['local_ip'], host['underlay_ip'],
                         '' if want['local_ip'] is None else ' (wanted local_ip %s)'
                         % want['local_ip']),
                      _fix_mesh(name), key, peer, pname, pair)
        port = bridge['ports'][pname]
        iface = gre_names.port_interface(port) or {}
        if iface.get('error') or (iface.get('ofport') is not None and iface['ofport'] < 0):
            found.add('tunnel-error', name,
                      '%s: tunnel %s: %s' % (name, pname, iface.get('error') or 'no ofport'),
                      _fix_mesh(name), key, peer, pname, pair)
    for op in ops:
        if op.get('column') == 'protected':
            pname = op['record']
            peer = by_id.get(gre_names.peer_host_id(pname))
            found.add('tunnel-not-protected', name,
                      '%s: tunnel port %s is not protected=true: NORMAL may forward a frame '
                      'from one tunnel into another (broadcast loops in the mesh)'
                      % (name, pname),
                      _fix_mesh(name), key, peer, pname,
                      [host_pair(key, name, m) for m in members if m != name])
    return unknown


def _in_port(flow_line):
    match = re.search(r'in_port=([^,\s]+)', flow_line)
    return match.group(1) if match else None


def check_bridge(found, host, key, bridge, members, by_name, unchecked=None):
    name = host['name']
    bname = bridge['name']
    everyone = [host_pair(key, name, m) for m in members if m != name]
    protected = [n for n, p in gre_names.tunnel_ports(bridge).items() if p.get('protected')]
    for proto in ('stp_enable', 'rstp_enable'):
        if bridge.get(proto):
            found.add('stp-on', name,
                      '%s: %s has %s=true%s: spanning tree blocks tunnels of a full mesh '
                      '(and holds every port back while it learns)'
                      % (name, bname, proto, ' with %d protected tunnel ports' % len(protected)
                         if protected else ''),
                      _fix_mesh(name) if proto == 'stp_enable' else
                      _on(name, 'ovs-vsctl set Bridge %s %s=false' % (bname, proto)),
                      key, port=bname, pairs=everyone)
    if bridge.get('fail_mode') == 'secure' and not bridge.get('controllers'):
        found.add('fail-mode-secure', name,
                  '%s: %s has fail_mode=secure and no controller: the flow table is all it '
                  'forwards by (switching to secure flushed it; an ovs-vswitchd restart empties '
                  'it again) and without flows it drops everything' % (name, bname),
                  _on(name, 'ovs-vsctl del-fail-mode %s' % bname), key, port=bname,
                  pairs=everyone)
    if bridge.get('flows') is None:
        found.add('flows-unreadable', name, '%s: flows of %s not read: %s'
                  % (name, bname, bridge.get('flows_error') or 'unknown'),
                  _on(name, 'ovs-ofctl dump-flows %s' % bname), key, port=bname)
    else:
        # gre_network's flows: those of the tunnels to the network's peers (not of one it left
        # alone, such as an agent-made tunnel to a host outside the inventory)
        peers = set(gre_names.port_name(key, host['host_id'], by_name[m]['host_id'])
                    for m in members if m != name)
        ofports = dict((n, _ofport(p)) for n, p in gre_names.tunnel_ports(bridge).items()
                       if n in peers)
        wanted = gre_flows.desired_flows(ofports)
        added, removed = gre_flows.flow_diff('\n'.join(bridge['flows']), wanted)
        # A flow for a port that is gone matches nothing (gre_network removes it all the same).
        live = set(str(_ofport(p)) for p in bridge['ports'].values()) | set(['LOCAL'])
        # nor does one of a tunnel to a host not checked (its inventory entry is wrong)
        live -= set(str(_ofport(bridge['ports'][n])) for n in _not_judged(bridge, unchecked))
        removed = [line for line in removed if _in_port(line) in live or _in_port(line) is None]
        if added:
            found.add('flows-missing', name,
                      '%s: %s lacks %d of its flows: %s' % (name, bname, len(added),
                                                            '; '.join(added)),
                      _fix_mesh(name), key, port=bname, pairs=everyone)
        if removed:
            found.add('flows-differ', name,
                      '%s: %s has %d flows gre_network does not install: %s'
                      % (name, bname, len(removed), '; '.join(removed)),
                      _fix_mesh(name), key, port=bname, pairs=everyone)
    setup = (bridge.get('other_config') or {}).get(gre_names.CS_HOST_SETUP)
    if not agent_considers_configured(setup, host['host_id']):
        found.add('agent-not-configured', name,
                  "%s: CloudStack's agent reads other_config:ovs-host-setup=%s on %s as not set "
                  'up for host id %d: at its next tunnel it runs setup_ovs_bridge again, which '
                  'turns STP on' % (name, 'unset' if setup is None else repr(setup), bname,
                                    host['host_id']),
                  _fix_mesh(name), key, port=bname)


def check_trace(found, host, key, bridge, members, by_name, expected=()):
    """Where traced frames leave; ``expected``: addresses of tunnels already reported (to
    hosts outside the inventory), whose broadcast copies are no finding of their own."""
    name = host['name']
    bname = bridge['name']
    trace = bridge.get('trace')
    if not trace:
        return
    if trace.get('error'):
        command = 'ovs-appctl ofproto/trace %s in_port=LOCAL,dl_dst=%s' % (bname,
                                                                           gre_flows.BROADCAST_MAC)
        found.add('trace-failed', name, '%s: ofproto/trace on %s failed: %s'
                  % (name, bname, trace['error']), _on(name, command), key, port=bname)
        return
    tunnels = gre_names.tunnel_ports(bridge)
    by_ip = dict((by_name[m]['underlay_ip'], m) for m in members)
    local = trace.get('broadcast') or {}
    copies = {}
    for push in local.get('tunnels', []):
        copies[push['remote_ip']] = copies.get(push['remote_ip'], 0) + 1
    for member in members:
        if member == name:
            continue
        ip = by_name[member]['underlay_ip']
        count = copies.pop(ip, 0)
        notes = local.get('notes') or []
        if count == 0 and not notes:
            notes = ['the trace gives no reason: OVS holds the port out of floods, as it does '
                     'after spanning tree ran on the bridge']
        if count != 1:
            found.add('trace-broadcast', name,
                      '%s: a broadcast from a local port of %s leaves %d times for %s (%s)%s'
                      % (name, bname, count, member, ip,
                         ': ' + '; '.join(notes) if notes else ''),
                      _fix_mesh(name), key, member, bname, [host_pair(key, name, member)])
    for ip, count in sorted(copies.items()):
        if ip in expected and count == 1:
            continue
        found.add('trace-broadcast', name,
                  '%s: a broadcast from a local port of %s also leaves %d times for %s, '
                  'no peer in network %d' % (name, bname, count, ip, key),
                  _fix_mesh(name), key, by_ip.get(ip), bname,
                  [host_pair(key, name, m) for m in members if m != name])
    for entry in trace.get('from_tunnels') or []:
        if entry.get('tunnels'):
            found.add('trace-tunnel-to-tunnel', name,
                      '%s: a broadcast coming in from %s leaves again into tunnels to %s'
                      % (name, entry['port'], ', '.join(t['remote_ip'] for t in entry['tunnels'])),
                      _fix_mesh(name), key, port=entry['port'],
                      pairs=[host_pair(key, name, m) for m in members if m != name])
    for entry in trace.get('unicast') or []:
        port = tunnels.get(entry['port'])
        if port is None:
            continue
        want = gre_names.tunnel_view(port)['remote_ip']
        got = [t['remote_ip'] for t in entry.get('tunnels') or []]
        everyone = sorted(gre_names.tunnel_view(p)['remote_ip'] for p in tunnels.values())
        # A flood to every tunnel once: the MAC aged out between fdb/show and the trace.
        if got != [want] and sorted(got) != everyone:
            peer = by_ip.get(want)
            found.add('trace-unicast', name,
                      '%s: unicast to %s (learned on %s) leaves %s instead of once to %s'
                      % (name, entry['mac'], entry['port'],
                         'to ' + ', '.join(got) if got else 'on no tunnel', want),
                      _fix_mesh(name), key, peer, entry['port'],
                      [host_pair(key, name, peer)] if peer else [])


def check_host(found, host, zone, unchecked=None):
    """Every finding of one host: ``zone`` is the ``Zone`` of the checked hosts; ``unchecked``
    the host ids and addresses of the hosts whose inventory entry is wrong."""
    name = host['name']
    by_name, members = zone.by_name, zone.members
    info = host['info']
    if not info or info.get('failed'):
        found.add('host-unreadable', name, '%s: %s' % (name, host.get('error') or (
            info or {}).get('msg') or 'no gre_mesh_info result'),
            'make %s reachable (SSH, ovsdb-server, ovs-vswitchd) and run the doctor again'
            % name, pairs=[host_pair(k, name, m) for k in host['networks'] for m in members[k]
                           if m != name])
        return
    # The address every peer sends this host's GRE packets to must sit on an OVS bridge.
    held = [a for a in info.get('addresses') or [] if a['address'] == host['underlay_ip']]
    if not any(a['ovs'] for a in held):
        found.add('endpoint-not-on-ovs', name,
                  '%s: %s (cloudstack_underlay_ip, where its peers send GRE) is %s'
                  % (name, host['underlay_ip'],
                     'held on %s, not an OVS bridge' % ', '.join(a['ifname'] for a in held)
                     if held else 'not an address of this host'),
                  'move %s onto an OVS bridge of %s (ansible-playbook %s --limit %s, the '
                  'cloudbr role), or correct cloudstack_underlay_ip and run '
                  'ansible-playbook %s'
                  % (host['underlay_ip'], name, KVM_HOST, name, GRE_MESH),
                  pairs=[host_pair(k, name, m) for k in host['networks'] for m in members[k]
                         if m != name])
    for key in host['networks']:
        bridge = _find_bridge(info, key)
        if bridge is None:
            found.add('bridge-missing', name,
                      '%s carries network %d (inventory) but has no bridge %s'
                      % (name, key, gre_names.default_bridge(key)),
                      _fix_mesh(name), key, port=gre_names.default_bridge(key),
                      pairs=[host_pair(key, name, m) for m in members[key] if m != name])
            continue
        unknown = check_tunnels(found, host, zone, key, bridge, members[key], unchecked)
        check_bridge(found, host, key, bridge, members[key], by_name, unchecked)
        check_trace(found, host, key, bridge, members[key], by_name, unknown)
    for bname, bridge in sorted((info.get('bridges') or {}).items()):
        key = bridge_key(bridge)
        if key is not None and key not in host['networks']:
            found.add('network-extra', name,
                      '%s has bridge %s (network %d) that the inventory does not give it'
                      % (name, bname, key),
                      'if CloudStack no longer uses it: ansible %s -m cloudstack.ovs.'
                      'gre_network -a "host_id=%d key=%d state=absent"'
                      % (name, host['host_id'], key), key, port=bname)
