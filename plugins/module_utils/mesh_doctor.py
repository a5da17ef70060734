# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The mesh doctor: why VMs of one GRE network on two hosts cannot reach each other.

Pure functions only. ``gre_mesh_info`` (on every host) reads the switch; its output for every
host, with the inventory's view of the zone, goes into ``diagnose`` (called once, on the control
node, by the ``mesh_doctor_report`` filter), which returns findings, a host-pair matrix per
network, a Markdown report and the mesh picture (``mesh_picture.mesh_dot``).

What "right" means is not restated here: the wanted tunnels, options, ``protected`` flags and
flow table come from the planner of ``gre_network`` (``gre.plan_network``, ``gre.desired_flows``),
and whether CloudStack's agent considers a bridge set up from ``cloudstack_agent``.
"""

import json
import re

from ansible_collections.cloudstack.ovs.plugins.module_utils import gre
from ansible_collections.cloudstack.ovs.plugins.module_utils.cloudstack_agent import (
    agent_considers_configured,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.mesh_picture import mesh_dot
from ansible_collections.cloudstack.ovs.plugins.module_utils.validate import ParamError

GRE_MESH = 'cloudstack.ovs.gre_mesh'
KVM_HOST = 'cloudstack.ovs.kvm_host'
ERROR = 'error'
WARNING = 'warning'

# kind -> (severity, short title). The docs (docs/mesh-doctor.md) explain each one.
KINDS = {
    'host-unreadable': (ERROR, 'host could not be read'),
    'bridge-missing': (ERROR, 'network bridge missing'),
    'network-extra': (WARNING, 'network bridge not in the inventory'),
    'tunnel-missing': (ERROR, 'tunnel missing'),
    'tunnel-extra': (ERROR, 'tunnel to a host that is no peer'),
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


# ---------------------------------------------------------------- reading helpers (host side)

_TNL_PUSH_IP = re.compile(r'tnl_push\(.*?ipv[46]\(src=([^,]+),dst=([^,]+),.*?key=(0x[0-9a-f]+)',
                          re.I)
_SET_TUNNEL = re.compile(r'set\(tunnel\(([^)]*)\)\)', re.I)


def _split_top(text):
    """Split a datapath action list at the commas that are not inside parentheses."""
    parts, depth, cur = [], 0, []
    for char in text:
        if char == '(':
            depth += 1
        elif char == ')':
            depth -= 1
        if char == ',' and depth == 0:
            parts.append(''.join(cur))
            cur = []
        else:
            cur.append(char)
    if cur:
        parts.append(''.join(cur))
    return [p.strip() for p in parts if p.strip()]


def _tunnel_pushes(actions):
    """Every tunnel encapsulation in a datapath action list: [{remote_ip, key}]."""
    out = []
    for part in _split_top(actions):
        # userspace datapath: tnl_push(...ipv4(src=..,dst=..)...gre(...,key=0x3e9)...)
        for match in _TNL_PUSH_IP.finditer(part):
            out.append(dict(remote_ip=match.group(2), key=str(int(match.group(3), 16))))
        # kernel datapath: set(tunnel(tun_id=0x3e9,src=..,dst=..,...)),<port>
        for match in _SET_TUNNEL.finditer(part):
            fields = dict(f.split('=', 1) for f in match.group(1).split(',') if '=' in f)
            if 'dst' in fields or 'ipv6_dst' in fields:
                key = fields.get('tun_id', '0')
                out.append(dict(remote_ip=fields.get('dst') or fields.get('ipv6_dst'),
                                key=str(int(key, 16) if key.startswith('0x') else int(key))))
    return out


def parse_trace(text):
    """``ovs-appctl ofproto/trace`` output -> where the frame leaves.

    ``tunnels`` lists every copy that is encapsulated (remote_ip and key, once per copy),
    ``actions`` is the ``Datapath actions`` line, ``notes`` the lines that say why a copy did
    not leave (protected ports, STP, native tunnel routing or neighbour failures, drops).
    """
    actions = ''
    notes = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith('Datapath actions:'):
            actions = stripped[len('Datapath actions:'):].strip()
        elif stripped.startswith('>>') or re.search(
                r'routing failed|cache miss|not forwarding|STP|drop|disabled|no route',
                stripped, re.I):
            note = stripped.lstrip('>- ').strip()
            if note and note not in notes:
                notes.append(note)
    return dict(tunnels=_tunnel_pushes(actions), actions=actions, notes=notes)


def parse_fdb(text):
    """``ovs-appctl fdb/show`` -> [{port, vlan, mac}] (port as printed: a number or LOCAL)."""
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and re.match(r'^([0-9a-f]{2}:){5}[0-9a-f]{2}$', parts[2], re.I):
            port = int(parts[0]) if parts[0].isdigit() else parts[0]
            out.append(dict(port=port, vlan=int(parts[1]) if parts[1].isdigit() else 0,
                            mac=parts[2].lower()))
    return out


def ovs_addresses(ip_json, internal_ifaces):
    """``ip -j addr`` output -> [{ifname, address, prefixlen, ovs}], ``ovs`` true when the
    interface is an OVS internal port (a bridge's own device), where userspace and kernel GRE
    alike need the endpoint address."""
    data = json.loads(ip_json) if isinstance(ip_json, str) else ip_json
    out = []
    for link in data or []:
        for addr in link.get('addr_info', []):
            if addr.get('family') not in ('inet', 'inet6') or addr.get('scope') == 'link':
                continue
            out.append(dict(ifname=link.get('ifname'), address=addr.get('local'),
                            prefixlen=addr.get('prefixlen'),
                            ovs=link.get('ifname') in internal_ifaces))
    return out


def is_tunnel_bridge(bridge):
    """A bridge of the GRE mesh: named OVSTunnel<key>, marked by CloudStack or gre_network, or
    holding a port named like CloudStack's tunnels."""
    other = bridge.get('other_config') or {}
    return bool(re.match(r'^%s\d+$' % gre.BRIDGE_PREFIX, bridge['name'])) or \
        other.get(gre.CS_TUN_NETWORK) == 'True' or \
        (bridge.get('external_ids') or {}).get(gre.OWNER_KEY) == gre.OWNER_VALUE or \
        any(gre.PORT_NAME_RE.match(p) for p in bridge.get('ports') or {})


def bridge_key(bridge):
    """The network key a tunnel bridge carries (its name, else CloudStack's gre_key marker)."""
    match = re.match(r'^%s(\d+)$' % gre.BRIDGE_PREFIX, bridge['name'])
    if match:
        return int(match.group(1))
    value = (bridge.get('other_config') or {}).get(gre.CS_GRE_KEY, '')
    value = value[len(gre.BRIDGE_PREFIX):] if value.startswith(gre.BRIDGE_PREFIX) else value
    return int(value) if value.isdigit() else None


# ---------------------------------------------------------------- the zone (control node)

def _fix_mesh(host):
    return 'ansible-playbook %s --limit %s' % (GRE_MESH, host)


def _on(host, command):
    return 'on %s: %s' % (host, command)


def normalize_hosts(hosts):
    """Validate the doctor's input: a list of {name, host_id, underlay_ip, networks, info}."""
    if not isinstance(hosts, list) or not hosts:
        raise ParamError('hosts: must be a non-empty list of {name, host_id, underlay_ip, '
                         'networks, info} (got %r)' % (hosts,))
    out = []
    names = set()
    for index, host in enumerate(hosts):
        field = 'hosts[%d]' % index
        if not isinstance(host, dict) or not host.get('name'):
            raise ParamError('%s: must be a dictionary with a name (got %r)' % (field, host))
        if host['name'] in names:
            raise ParamError('%s.name: duplicate host %r' % (field, host['name']))
        names.add(host['name'])
        keys = [gre.validate_key('%s.networks' % field, k) for k in host.get('networks') or []]
        out.append(dict(
            name=host['name'],
            host_id=gre.validate_host_id(field + '.host_id', host.get('host_id')),
            underlay_ip=gre.validate_ip(field + '.underlay_ip', host.get('underlay_ip')),
            local_ip=(gre.validate_ip(field + '.local_ip', host['local_ip'])
                      if host.get('local_ip') else None),
            networks=sorted(set(keys)), info=host.get('info'),
            error=host.get('error')))
    return out


class _Findings(object):
    def __init__(self):
        self.items = []

    def add(self, kind, host, what, fix, network=None, peer=None, port=None, pairs=()):
        severity, title = KINDS[kind]
        self.items.append(dict(kind=kind, severity=severity, title=title, host=host,
                               network=network, peer=peer, port=port, what=what, fix=fix,
                               pairs=sorted(set(tuple(p) for p in pairs))))


def _pair(key, a, b):
    return (key, a, b) if a <= b else (key, b, a)


def _find_bridge(info, key):
    bridges = (info or {}).get('bridges') or {}
    name = gre.default_bridge(key)
    if name in bridges:
        return bridges[name]
    for bridge in bridges.values():
        if bridge_key(bridge) == key:
            return bridge
    return None


def _tunnel_ports(bridge):
    return dict((n, p) for n, p in bridge['ports'].items()
                if n != bridge['name'] and gre.is_tunnel_port(p))


def _ofport(port):
    iface = gre._iface(port) or {}  # pylint: disable=protected-access
    return iface.get('ofport')


def _check_tunnels(found, host, by_name, key, bridge, members, all_hosts):
    """Tunnels of one host in one network against what gre_network would leave."""
    name = host['name']
    peers = [dict(host_id=by_name[m]['host_id'], remote_ip=by_name[m]['underlay_ip'])
             for m in members if m != name]
    network = dict(key=key, bridge=bridge['name'], peers=sorted(peers,
                                                                key=lambda p: p['host_id']))
    all_ports = dict((p, bridge['name']) for p in bridge['ports'])
    ops, diff = gre.plan_network(bridge, all_ports, host['host_id'], host['local_ip'], network,
                                 purge=True)
    before, after = diff['before']['tunnels'], diff['after']['tunnels']
    by_id = dict((h['host_id'], h['name']) for h in all_hosts)
    by_ip = dict((h['underlay_ip'], h['name']) for h in all_hosts)
    for pname in sorted(set(after) - set(before)):
        peer = by_id.get(int(gre.PORT_NAME_RE.match(pname).group(3)))
        found.add('tunnel-missing', name,
                  '%s has no tunnel %s to %s (%s) in network %d'
                  % (name, pname, peer, after[pname]['remote_ip'], key),
                  _fix_mesh(name), key, peer, pname, [_pair(key, name, peer)])
    for pname in sorted(set(before) - set(after)):
        match = gre.PORT_NAME_RE.match(pname)
        peer = by_id.get(int(match.group(3))) if match else None
        peer = peer or by_ip.get(before[pname]['remote_ip'])
        found.add('tunnel-extra', name,
                  '%s has tunnel %s to %s, which is no peer in network %d (inventory)'
                  % (name, pname, before[pname]['remote_ip'], key),
                  _fix_mesh(name), key, peer, pname,
                  [_pair(key, name, peer)] if peer and peer in members else [])
    for pname in sorted(set(before) & set(after)):
        have, want = before[pname], after[pname]
        peer = by_id.get(int(gre.PORT_NAME_RE.match(pname).group(3)))
        pair = [_pair(key, name, peer)]
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
        iface = gre._iface(port) or {}  # pylint: disable=protected-access
        if iface.get('error') or (iface.get('ofport') is not None and iface['ofport'] < 0):
            found.add('tunnel-error', name,
                      '%s: tunnel %s: %s' % (name, pname, iface.get('error') or 'no ofport'),
                      _fix_mesh(name), key, peer, pname, pair)
    for op in ops:
        if op.get('column') == 'protected':
            pname = op['record']
            peer = by_id.get(int(gre.PORT_NAME_RE.match(pname).group(3))) \
                if gre.PORT_NAME_RE.match(pname) else None
            found.add('tunnel-not-protected', name,
                      '%s: tunnel port %s is not protected=true: NORMAL may forward a frame '
                      'from one tunnel into another (broadcast loops in the mesh)'
                      % (name, pname),
                      _fix_mesh(name), key, peer, pname,
                      [_pair(key, name, m) for m in members if m != name])


def _in_port(flow_line):
    match = re.search(r'in_port=([^,\s]+)', flow_line)
    return match.group(1) if match else None


def _check_bridge(found, host, key, bridge, members):
    name = host['name']
    bname = bridge['name']
    everyone = [_pair(key, name, m) for m in members if m != name]
    protected = [n for n, p in _tunnel_ports(bridge).items() if p.get('protected')]
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
        ofports = dict((n, _ofport(p)) for n, p in _tunnel_ports(bridge).items())
        wanted = gre.desired_flows(ofports)
        added, removed = gre.flow_diff('\n'.join(bridge['flows']), wanted)
        # A flow for a port that is gone matches nothing (gre_network removes it all the same).
        live = set(str(_ofport(p)) for p in bridge['ports'].values()) | set(['LOCAL'])
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
    setup = (bridge.get('other_config') or {}).get(gre.CS_HOST_SETUP)
    if not agent_considers_configured(setup, host['host_id']):
        found.add('agent-not-configured', name,
                  "%s: CloudStack's agent reads other_config:ovs-host-setup=%s on %s as not set "
                  'up for host id %d: at its next tunnel it runs setup_ovs_bridge again, which '
                  'turns STP on' % (name, 'unset' if setup is None else repr(setup), bname,
                                    host['host_id']),
                  _fix_mesh(name), key, port=bname)


def _check_trace(found, host, key, bridge, members, by_name):
    name = host['name']
    bname = bridge['name']
    trace = bridge.get('trace')
    if not trace:
        return
    if trace.get('error'):
        command = 'ovs-appctl ofproto/trace %s in_port=LOCAL,dl_dst=%s' % (bname,
                                                                           gre.BROADCAST_MAC)
        found.add('trace-failed', name, '%s: ofproto/trace on %s failed: %s'
                  % (name, bname, trace['error']), _on(name, command), key, port=bname)
        return
    tunnels = _tunnel_ports(bridge)
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
                      _fix_mesh(name), key, member, bname, [_pair(key, name, member)])
    for ip, count in sorted(copies.items()):
        found.add('trace-broadcast', name,
                  '%s: a broadcast from a local port of %s also leaves %d times for %s, '
                  'no peer in network %d' % (name, bname, count, ip, key),
                  _fix_mesh(name), key, by_ip.get(ip), bname,
                  [_pair(key, name, m) for m in members if m != name])
    for entry in trace.get('from_tunnels') or []:
        if entry.get('tunnels'):
            found.add('trace-tunnel-to-tunnel', name,
                      '%s: a broadcast coming in from %s leaves again into tunnels to %s'
                      % (name, entry['port'], ', '.join(t['remote_ip'] for t in entry['tunnels'])),
                      _fix_mesh(name), key, port=entry['port'],
                      pairs=[_pair(key, name, m) for m in members if m != name])
    for entry in trace.get('unicast') or []:
        port = tunnels.get(entry['port'])
        if port is None:
            continue
        want = gre.tunnel_view(port)['remote_ip']
        got = [t['remote_ip'] for t in entry.get('tunnels') or []]
        everyone = sorted(gre.tunnel_view(p)['remote_ip'] for p in tunnels.values())
        # A flood to every tunnel once: the MAC aged out between fdb/show and the trace.
        if got != [want] and sorted(got) != everyone:
            peer = by_ip.get(want)
            found.add('trace-unicast', name,
                      '%s: unicast to %s (learned on %s) leaves %s instead of once to %s'
                      % (name, entry['mac'], entry['port'],
                         'to ' + ', '.join(got) if got else 'on no tunnel', want),
                      _fix_mesh(name), key, peer, entry['port'],
                      [_pair(key, name, peer)] if peer else [])


def diagnose(hosts):
    """Findings, per-network pair matrix and mesh links for the whole zone.

    ``hosts``: [{name, host_id, underlay_ip, networks, local_ip?, info, error?}] where ``info``
    is the ``gre_mesh_info`` result of the host (None when it could not be read, with
    ``error``). Returns a dict: ``findings`` (errors first), ``networks`` ({key: {hosts,
    pairs}}), ``clean`` (no error), ``errors``/``warnings`` counts.
    """
    hosts = normalize_hosts(hosts)
    by_name = dict((h['name'], h) for h in hosts)
    found = _Findings()
    keys = sorted(set(k for h in hosts for k in h['networks']))
    members = dict((k, [h['name'] for h in hosts if k in h['networks']]) for k in keys)

    for host in hosts:
        name = host['name']
        info = host['info']
        if not info or info.get('failed'):
            found.add('host-unreadable', name, '%s: %s' % (name, host.get('error') or (
                info or {}).get('msg') or 'no gre_mesh_info result'),
                'make %s reachable (SSH, ovsdb-server, ovs-vswitchd) and run the doctor again'
                % name, pairs=[_pair(k, name, m) for k in host['networks'] for m in members[k]
                               if m != name])
            continue
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
                      pairs=[_pair(k, name, m) for k in host['networks'] for m in members[k]
                             if m != name])
        for key in host['networks']:
            bridge = _find_bridge(info, key)
            if bridge is None:
                found.add('bridge-missing', name,
                          '%s carries network %d (inventory) but has no bridge %s'
                          % (name, key, gre.default_bridge(key)),
                          _fix_mesh(name), key, port=gre.default_bridge(key),
                          pairs=[_pair(key, name, m) for m in members[key] if m != name])
                continue
            _check_tunnels(found, host, by_name, key, bridge, members[key], hosts)
            _check_bridge(found, host, key, bridge, members[key])
            _check_trace(found, host, key, bridge, members[key], by_name)
        for bname, bridge in sorted((info.get('bridges') or {}).items()):
            key = bridge_key(bridge)
            if key is not None and key not in host['networks']:
                found.add('network-extra', name,
                          '%s has bridge %s (network %d) that the inventory does not give it'
                          % (name, bname, key),
                          'if CloudStack no longer uses it: ansible %s -m cloudstack.ovs.'
                          'gre_network -a "host_id=%d key=%d state=absent"'
                          % (name, host['host_id'], key), key, port=bname)

    findings = sorted(found.items, key=lambda f: (f['severity'] != ERROR, f['host'],
                                                  f['network'] or 0, f['kind'], f['port'] or ''))
    networks = {}
    for key in keys:
        pairs = []
        names = members[key]
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                why = [f for f in findings if f['severity'] == ERROR
                       and _pair(key, a, b) in f['pairs']]
                pairs.append(dict(a=a, b=b, ok=not why,
                                  why=['%s: %s' % (f['host'], f['title']) for f in why]))
        networks[key] = dict(hosts=names, pairs=pairs)
    errors = sum(1 for f in findings if f['severity'] == ERROR)
    for finding in findings:
        finding['pairs'] = [list(p) for p in finding['pairs']]
    return dict(findings=findings, networks=networks, clean=errors == 0, errors=errors,
                warnings=len(findings) - errors,
                hosts=[dict(name=h['name'], host_id=h['host_id'], underlay_ip=h['underlay_ip'],
                            networks=h['networks']) for h in hosts])


def picture(result, title='GRE mesh (red: broken host pair)'):
    """DOT source of the mesh: hosts, their network bridges, one link per host pair and network,
    red where the pair is broken (``mesh_picture.mesh_dot``, also used by the lab)."""
    hosts = [dict(id=h['name'],
                  label='%s (host id %d, %s)' % (h['name'], h['host_id'], h['underlay_ip']),
                  networks=[dict(key=k, label=gre.default_bridge(k)) for k in h['networks']])
             for h in result['hosts']]
    links = []
    for key, net in sorted(result['networks'].items()):
        for pair in net['pairs']:
            links.append(dict(key=key, a=pair['a'], b=pair['b'], ok=pair['ok'],
                              label='key %d' % key if pair['ok'] else
                              'key %d: %s' % (key, '\\n'.join(pair['why'][:3]))))
    return mesh_dot(title, hosts, links)


def _cell(text):
    return str(text).replace('|', '\\|').replace('\n', ' ')


def markdown(result, image='mesh.svg'):
    """The zone report: findings table, host-pair matrix per network, the mesh picture."""
    lines = ['# Mesh doctor report', '',
             '%s: %d error(s), %d warning(s) over %d hosts and %d networks. Read-only: nothing '
             'was changed on any host.' % ('CLEAN' if result['clean'] else 'BROKEN',
                                           result['errors'], result['warnings'],
                                           len(result['hosts']), len(result['networks'])), '']
    if image:
        lines += ['![GRE mesh](%s)' % image, '']
    lines += ['## Findings', '']
    if result['findings']:
        lines += ['| severity | host | network | finding | what is wrong | fix |',
                  '| --- | --- | --- | --- | --- | --- |']
        for f in result['findings']:
            lines.append('| %s | %s | %s | `%s` | %s | `%s` |' % (
                f['severity'], f['host'], f['network'] if f['network'] is not None else '-',
                f['kind'], _cell(f['what']), _cell(f['fix'])))
    else:
        lines.append('None.')
    for key, net in sorted(result['networks'].items()):
        names = net['hosts']
        status = dict(((p['a'], p['b']), p) for p in net['pairs'])
        lines += ['', '## Network %d (%s): host pairs' % (key, gre.default_bridge(key)), '',
                  '| | ' + ' | '.join(names) + ' |', '| --- |' + ' --- |' * len(names)]
        for a in names:
            row = []
            for b in names:
                pair = status.get((a, b)) or status.get((b, a))
                if a == b:
                    row.append('-')
                elif pair['ok']:
                    row.append('ok')
                else:
                    row.append('broken: ' + _cell('; '.join(pair['why'])))
            lines.append('| %s | %s |' % (a, ' | '.join(row)))
    lines.append('')
    return '\n'.join(lines)
