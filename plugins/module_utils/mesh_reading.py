# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""One host's side of the GRE mesh, as ``gre_mesh_info`` reads it: pure parsers.

``parse_trace`` and ``parse_fdb`` read the answers of ovs-vswitchd's control commands
(``ofproto/trace``, ``fdb/show``; sent by ``appctl.Appctl``), ``ovs_addresses`` the output of
``ip -j addr``; ``is_tunnel_bridge`` and ``bridge_key`` say which bridges belong to the mesh and
which network each carries. Used on the host (``gre_mesh_info``) and on the control node (the
mesh doctor's checks, ``mesh_findings``). Standard library only.
"""

import json
import re

from ansible_collections.cloudstack.ovs.plugins.module_utils import gre_names

_TNL_PUSH_IP = re.compile(r'tnl_push\(.*?ipv[46]\(src=([^,]+),dst=([^,]+),.*?key=(0x[0-9a-f]+)',
                          re.I)
_SET_TUNNEL = re.compile(r'set\(tunnel\(([^)]*)\)\)', re.I)
# The ``actions`` text kept in a trace's reading. A broadcast on a zone-sized mesh encapsulates
# one copy per peer, some 280 characters each (36 KB a bridge at 127 peers, more than a third of
# a 1,016-port host's reading, read by no check: ``tunnels`` holds every copy).
ACTIONS_MAX = 2048
# gre_mesh_info's return value that holds its whole reading as one JSON document
# (return_format=json, what the mesh doctor asks for): one string, which Ansible's controller
# passes on as it is, where a reading of values (some 490 KB, tens of thousands of them at 128
# hosts x 8 networks) is walked and copied value by value for every result and callback
READING_JSON = 'reading_json'


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
    ``actions`` is the ``Datapath actions`` line (above ``ACTIONS_MAX`` characters its start,
    then how many characters were left out), ``notes`` the lines that say why a copy did not
    leave (protected ports, STP, native tunnel routing or neighbour failures, drops).
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
    return dict(tunnels=_tunnel_pushes(actions), actions=shortened(actions), notes=notes)


def shortened(actions, limit=ACTIONS_MAX):
    """``actions`` as a reading keeps it: whole up to ``limit`` characters, else its first
    ``limit`` and `` ... (<n> characters more)``."""
    if len(actions) <= limit:
        return actions
    return '%s ... (%d characters more)' % (actions[:limit], len(actions) - limit)


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
    return bool(re.match(r'^%s\d+$' % gre_names.BRIDGE_PREFIX, bridge['name'])) or \
        other.get(gre_names.CS_TUN_NETWORK) == 'True' or \
        (bridge.get('external_ids') or {}).get(gre_names.OWNER_KEY) == gre_names.OWNER_VALUE or \
        any(gre_names.PORT_NAME_RE.match(p) for p in bridge.get('ports') or {})


def bridge_key(bridge):
    """The network key a tunnel bridge carries (its name, else CloudStack's gre_key marker)."""
    match = re.match(r'^%s(\d+)$' % gre_names.BRIDGE_PREFIX, bridge['name'])
    if match:
        return int(match.group(1))
    value = (bridge.get('other_config') or {}).get(gre_names.CS_GRE_KEY, '')
    value = value[len(gre_names.BRIDGE_PREFIX):] if value.startswith(gre_names.BRIDGE_PREFIX) else value
    return int(value) if value.isdigit() else None


def decode_reading(info):
    """A ``gre_mesh_info`` result as the mesh doctor reads it: ``(reading, error)``.

    A result with ``reading_json`` (``return_format=json``) is decoded once, here; any other
    result (``return_format=dict``, a failed or unreachable host's, None) is returned as it is.
    A ``reading_json`` that is not a reading's JSON is no reading, with the error saying why."""
    if not isinstance(info, dict) or READING_JSON not in info:
        return info, None
    try:
        reading = json.loads(info[READING_JSON])
    except (TypeError, ValueError) as exc:
        return None, '%s: not JSON (%s)' % (READING_JSON, exc)
    if not isinstance(reading, dict) or not isinstance(reading.get('bridges'), dict):
        return None, '%s: not a gre_mesh_info reading (no bridges)' % READING_JSON
    return reading, None
