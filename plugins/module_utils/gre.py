# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Pure planning for CloudStack's GRE isolation: one ``OVSTunnel<key>`` bridge per guest
network with a GRE port to every peer host, as CloudStack's KVM agent lays it out.

Nothing here talks to OVSDB or ovs-vswitchd: parameters are validated and normalised
(``normalize_networks``), compared with an ``OvsdbSession.snapshot()`` (``plan_networks``)
and turned into ovsdb ops, a diff and the wanted flow table of every bridge
(``desired_flows``); ``normalize_flow`` makes ``ovs-ofctl dump-flows`` output comparable.
See docs/gre_network.md for what is mirrored from CloudStack and what is not, and why.
"""

import ipaddress
import re

from ansible_collections.cloudstack.ovs.plugins.module_utils.bridge import plan_bridge
from ansible_collections.cloudstack.ovs.plugins.module_utils.cloudstack_agent import (
    agent_considers_configured,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.ovsdb_ops import (
    map_ops,
    plan_map,
    validate_choice,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.validate import (
    ParamError,
    validate_ifname,
)

KEY_MIN = 1
KEY_MAX = 4294967295  # GRE keys are 32 bits
BRIDGE_PREFIX = 'OVSTunnel'
# CloudStack's tunnel port name: t<key>-<src host id>-<dst host id> (ovstunnel.py create_tunnel).
PORT_NAME_RE = re.compile(r'^t(\d+)-(\d+)-(\d+)$')
# Our own ownership marker, on the bridge and on every tunnel port we create.
OWNER_KEY = 'cloudstack-ovs-owner'
OWNER_VALUE = 'gre_network'
# Set instead on a tunnel port CloudStack's agent made and the module took over: it is managed
# (options, protected) but still not ours to delete in a default run.
ADOPTED_KEY = 'cloudstack-ovs-adopted'
# purge: which unwanted tunnel ports of a managed bridge a run removes.
PURGE_OURS = 'ours'            # only ports this collection created (the owner marker)
PURGE_ALL_STALE = 'all_stale'  # also CloudStack-named ports the agent made
PURGE_NONE = 'none'
PURGE_CHOICES = (PURGE_OURS, PURGE_ALL_STALE, PURGE_NONE)
# CloudStack's markers in the bridge's other_config (ovstunnel.py setup_ovs_bridge and the
# KVM agent's LibvirtComputingResource.configureTunnelNetwork).
CS_GRE_KEY = 'gre_key'
CS_TUN_NETWORK = 'is-ovs-tun-network'
CS_HOST_SETUP = 'ovs-host-setup'
# Priority of CloudStack's split-horizon entries; everything else goes through NORMAL.
SPLIT_HORIZON_PRIORITY = 1000
BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff'
LINK_LOCAL_MCAST = '224.0.0.0/24'


def port_name(key, src_host_id, dst_host_id):
    """CloudStack's name of the tunnel from ``src`` to ``dst`` in network ``key``."""
    return 't%d-%d-%d' % (key, src_host_id, dst_host_id)


def default_bridge(key):
    return '%s%d' % (BRIDGE_PREFIX, key)


# ---------------------------------------------------------------- validation

def _int(field, value, low, high):
    if isinstance(value, bool):
        raise ParamError('%s: must be an integer (got %r)' % (field, value))
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ParamError('%s: must be an integer (got %r)' % (field, value))
    if not low <= number <= high:
        raise ParamError('%s: must be between %d and %d (got %r)' % (field, low, high, value))
    return number


def validate_key(field, value):
    return _int(field, value, KEY_MIN, KEY_MAX)


def validate_host_id(field, value):
    # CloudStack host ids are positive database ids (a Java long).
    return _int(field, value, 1, 2 ** 63 - 1)


def validate_ip(field, value):
    """An IPv4 or IPv6 address literal (no prefix, no host name); returned in canonical form."""
    if not isinstance(value, str) or not value.strip():
        raise ParamError('%s: must be an IPv4 or IPv6 address (got %r)' % (field, value))
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise ParamError('%s: %r is not an IPv4 or IPv6 address literal' % (field, value))


def _ip_version(address):
    return ipaddress.ip_address(address).version


def normalize_peers(field, peers, host_id, local_ip):
    if peers is None:
        peers = []
    if not isinstance(peers, list):
        raise ParamError('%s: must be a list of {host_id, remote_ip} (got %r)' % (field, peers))
    out = []
    seen_ids = {}
    seen_ips = {}
    for index, peer in enumerate(peers):
        pfield = '%s[%d]' % (field, index)
        if not isinstance(peer, dict):
            raise ParamError('%s: must be a dictionary with host_id and remote_ip (got %r)'
                             % (pfield, peer))
        unknown = sorted(set(peer) - set(('host_id', 'remote_ip')))
        if unknown:
            raise ParamError('%s: unknown keys %s (got %r)' % (pfield, ', '.join(unknown), peer))
        if 'host_id' not in peer or 'remote_ip' not in peer:
            raise ParamError('%s: needs host_id and remote_ip (got %r)' % (pfield, peer))
        peer_id = validate_host_id(pfield + '.host_id', peer['host_id'])
        remote_ip = validate_ip(pfield + '.remote_ip', peer['remote_ip'])
        if peer_id == host_id:
            raise ParamError('%s.host_id: %d is this host (host_id); a host has no tunnel to '
                             'itself (got %r)' % (pfield, peer_id, peer['host_id']))
        if peer_id in seen_ids:
            raise ParamError('%s.host_id: duplicate peer, already given in %s (got %r)'
                             % (pfield, seen_ids[peer_id], peer['host_id']))
        if remote_ip in seen_ips:
            raise ParamError('%s.remote_ip: duplicate peer address, already given in %s (got %r)'
                             % (pfield, seen_ips[remote_ip], peer['remote_ip']))
        if local_ip is not None and _ip_version(local_ip) != _ip_version(remote_ip):
            raise ParamError('%s.remote_ip: IPv%d address while local_ip %s is IPv%d (got %r)'
                             % (pfield, _ip_version(remote_ip), local_ip, _ip_version(local_ip),
                                peer['remote_ip']))
        seen_ids[peer_id] = pfield
        seen_ips[remote_ip] = pfield
        out.append(dict(host_id=peer_id, remote_ip=remote_ip))
    return sorted(out, key=lambda p: p['host_id'])


def normalize_networks(params):
    """Validate the module's parameters; return ``(host_id, local_ip, networks)``.

    ``networks`` is a list of ``{key, bridge, peers}`` (peers sorted by host id). Raises
    ParamError naming the field and the value; nothing has been read or changed yet.
    """
    host_id = validate_host_id('host_id', params.get('host_id'))
    local_ip = params.get('local_ip')
    if local_ip is not None:
        local_ip = validate_ip('local_ip', local_ip)
    state = params.get('state') or 'present'
    validate_choice('state', state, ('present', 'absent'))
    validate_choice('datapath_type', params.get('datapath_type'), ('system', 'netdev'))

    single = params.get('key') is not None
    many = params.get('networks') is not None
    if single and many:
        raise ParamError('networks: give either key (with peers) or networks, not both '
                         '(got key=%r and networks)' % (params.get('key'),))
    if not single and not many:
        raise ParamError('key: one of key or networks is required (got neither)')
    if single:
        raw = [dict(key=params.get('key'), peers=params.get('peers'),
                    bridge=params.get('bridge'))]
        prefixes = ['']
    else:
        if params.get('peers') is not None or params.get('bridge') is not None:
            raise ParamError('peers: peers and bridge go inside each networks[] entry when '
                             'networks is used (got peers=%r, bridge=%r)'
                             % (params.get('peers'), params.get('bridge')))
        raw = params['networks']
        if not isinstance(raw, list):
            raise ParamError('networks: must be a list of {key, peers, bridge} (got %r)' % (raw,))
        prefixes = ['networks[%d].' % i for i in range(len(raw))]

    networks = []
    by_key = {}
    by_bridge = {}
    for prefix, net in zip(prefixes, raw):
        if not isinstance(net, dict):
            raise ParamError('%s: must be a dictionary with key and peers (got %r)'
                             % (prefix.rstrip('.'), net))
        unknown = sorted(set(net) - set(('key', 'peers', 'bridge')))
        if unknown:
            raise ParamError('%s: unknown keys %s (got %r)'
                             % (prefix.rstrip('.'), ', '.join(unknown), net))
        key = validate_key(prefix + 'key', net.get('key'))
        bridge = net.get('bridge')
        if bridge is None:
            bridge = default_bridge(key)
            if len(bridge) > 15:
                raise ParamError(
                    '%sbridge: the default name %s is %d characters long, an interface name is '
                    'at most 15 (OVS truncates the bridge device silently); give a bridge name '
                    'for key %d (got key=%r)' % (prefix, bridge, len(bridge), key, net.get('key')))
        validate_ifname(prefix + 'bridge', bridge)
        if key in by_key:
            raise ParamError('%skey: network %d is already given in %s (got %r)'
                             % (prefix, key, by_key[key], net.get('key')))
        if bridge in by_bridge:
            raise ParamError('%sbridge: bridge %s already carries the network in %s; one bridge '
                             'carries one network (got %r)'
                             % (prefix, bridge, by_bridge[bridge], net.get('bridge', bridge)))
        by_key[key] = prefix + 'key'
        by_bridge[bridge] = prefix + 'bridge'
        peers = normalize_peers(prefix + 'peers', net.get('peers'), host_id, local_ip)
        networks.append(dict(key=key, bridge=bridge, peers=peers))
    return host_id, local_ip, networks


def normalize_purge(value):
    """``purge`` -> one of PURGE_CHOICES. The booleans of earlier releases still work:
    true means ``ours`` (the safe default), false means ``none``."""
    if value is None:
        return PURGE_OURS
    if isinstance(value, bool):
        return PURGE_OURS if value else PURGE_NONE
    text = str(value).strip().lower()
    if text in PURGE_CHOICES:
        return text
    if text in ('true', 'yes', 'on', '1'):
        return PURGE_OURS
    if text in ('false', 'no', 'off', '0'):
        return PURGE_NONE
    raise ParamError('purge: must be one of %s (or a boolean: true means ours, false none) '
                     '(got %r)' % (', '.join(PURGE_CHOICES), value))


# ---------------------------------------------------------------- planning

def is_tunnel_port(port):
    """A port that is ours to manage: CloudStack's naming, or our marker."""
    return bool(PORT_NAME_RE.match(port['name'])) or \
        port.get('external_ids', {}).get(OWNER_KEY) == OWNER_VALUE


def _iface(port):
    ifaces = port.get('interfaces') or {}
    return ifaces.get(port['name']) or (list(ifaces.values())[0] if ifaces else None)


def tunnel_view(port):
    iface = _iface(port) or {}
    options = iface.get('options', {})
    return dict(remote_ip=options.get('remote_ip'), key=options.get('key'),
                local_ip=options.get('local_ip'), type=iface.get('type'))


def wanted_options(key, remote_ip, local_ip):
    options = dict(key=str(key), remote_ip=remote_ip)
    if local_ip is not None:
        options['local_ip'] = local_ip
    return options


def host_setup_value(current, host_id):
    """The ``ovs-host-setup`` value to store so that CloudStack's agent calls the bridge set up.

    The agent reads the value through ``ovs-vsctl get`` (quoted: ``"5,-1"``) and splits the
    printed line on ``,``, so only a middle piece can equal its host id (see
    ``cloudstack_agent.agent_considers_configured``). A value the agent already accepts is kept
    as it is (a fixed point: neither side writes again). Otherwise the value becomes
    ``<id>,<id>,<every other piece already there, in order>,-1`` - where CloudStack's own
    bridges settle (``-1`` at creation, ``<id>,-1`` after one setup, ``<id>,<id>,-1`` after
    the second) - so no id another host or run recorded is lost.
    """
    if agent_considers_configured(current, host_id):
        return current
    me = str(host_id)
    others = [x for x in (current or '').split(',') if x not in ('', me, '-1')]
    return ','.join([me, me] + others + ['-1'])


def bridge_markers(current_other_config, key, bridge, host_id):
    """other_config keys as CloudStack's agent leaves them on a tunnel bridge."""
    current = current_other_config or {}
    gre_key = current.get(CS_GRE_KEY)
    # The KVM agent passes the bridge name as --key to setup_ovs_bridge, so CloudStack's own
    # hosts carry gre_key=OVSTunnel<key>; both spellings mean this network: keep either.
    if gre_key not in (str(key), bridge):
        gre_key = str(key)
    return {CS_GRE_KEY: gre_key, CS_TUN_NETWORK: 'True',
            CS_HOST_SETUP: host_setup_value(current.get(CS_HOST_SETUP), host_id)}


def is_ours(port):
    """Created by this collection (only those are removed by ``purge=ours``)."""
    return port.get('external_ids', {}).get(OWNER_KEY) == OWNER_VALUE


def plan_network(current_bridge, all_ports, host_id, local_ip, network, datapath_type=None,
                 purge=PURGE_OURS, state='present'):
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
    """
    purge = normalize_purge(purge)
    bridge = network['bridge']
    key = network['key']
    before_tunnels = {}
    if current_bridge is not None:
        for name, port in current_bridge['ports'].items():
            if name != bridge and is_tunnel_port(port):
                before_tunnels[name] = tunnel_view(port)
    stp = bool((current_bridge or {}).get('stp_enable'))
    before = dict(bridge=bridge, exists=current_bridge is not None,
                  other_config=dict(sorted((current_bridge or {}).get('other_config', {}).items())),
                  stp_enable=stp, tunnels=dict(sorted(before_tunnels.items())))

    if state == 'absent':
        if current_bridge is None:
            return [], dict(before=before, after=dict(before), left_alone=[])
        return ([dict(op='del_bridge', bridge=bridge)],
                dict(before=before, after=dict(bridge=bridge, exists=False, other_config={},
                                               stp_enable=False, tunnels={}), left_alone=[]))

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
            iface = _iface(port) or dict(name=name, type='system', options={})
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
                  state='present'):
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
                                     purge=purge, state=state)
        ops.extend(net_ops)
        diff['key'] = network['key']
        diffs.append(diff)
    return ops, diffs


# ---------------------------------------------------------------- flows

def desired_flows(tunnel_ofports):
    """The flow table of a tunnel bridge, as ``ovs-ofctl --no-names`` prints it.

    ``tunnel_ofports`` maps tunnel port names to ofports (an unknown ofport, in check mode
    for a port not created yet, is shown as ``<name>``). Per tunnel port, CloudStack's two
    split-horizon entries (broadcast, and link-local multicast 224.0.0.0/24, coming in from
    the tunnel) at its priority; their action is NORMAL, which on these bridges never
    forwards a frame from one tunnel port into another because tunnel ports are
    ``protected`` (see docs/gre_network.md: CloudStack's literal ``drop`` would also cut
    ARP between hosts on KVM). Everything else: NORMAL.
    """
    flows = []
    for name in sorted(tunnel_ofports, key=lambda n: (str(tunnel_ofports[n]), n)):
        ofport = tunnel_ofports[name]
        in_port = str(ofport) if isinstance(ofport, int) and ofport > 0 else '<%s>' % name
        flows.append('priority=%d,in_port=%s,dl_dst=%s actions=NORMAL'
                     % (SPLIT_HORIZON_PRIORITY, in_port, BROADCAST_MAC))
        flows.append('priority=%d,ip,in_port=%s,nw_dst=%s actions=NORMAL'
                     % (SPLIT_HORIZON_PRIORITY, in_port, LINK_LOCAL_MCAST))
    flows.append('priority=0 actions=NORMAL')
    return flows


# Counters and ages, and flow-mod flags that do not change forwarding (a flow added with
# OpenFlow 1.0 is dumped with reset_counts under 1.4, ours without).
_FLOW_NOISE = ('cookie=', 'duration=', 'n_packets=', 'n_bytes=', 'idle_age=', 'hard_age=',
               'reset_counts', 'send_flow_rem', 'check_overlap', 'no_packet_counts',
               'no_byte_counts', 'importance=')


def normalize_flow(line):
    """One flow line (dump-flows or our own syntax) -> a comparable, hashable tuple.

    Counters, ages and durations are dropped, match fields compared as a set, ``table=0``
    and a missing priority mean their defaults, actions compared case-insensitively.
    Returns None for lines that are no flow (headers, blank lines).
    """
    line = line.strip()
    if line.startswith('actions='):
        match_part, actions = '', line[len('actions='):]
    elif ' actions=' in line:
        match_part, actions = line.split(' actions=', 1)
    else:
        return None
    fields = set()
    table = '0'
    priority = '32768'
    for token in match_part.replace(' ', ',').split(','):
        token = token.strip()
        if not token or token.startswith(_FLOW_NOISE):
            continue
        if token.startswith('table='):
            table = token.split('=', 1)[1]
        elif token.startswith('priority='):
            priority = token.split('=', 1)[1]
        else:
            fields.add(token.lower())
    return (int(table), int(priority), frozenset(fields), actions.strip().lower())


def parse_flows(text):
    """``ovs-ofctl dump-flows`` output -> set of normalised flows."""
    out = set()
    for line in text.splitlines():
        if 'NXST_FLOW' in line or 'OFPST_FLOW' in line:
            continue
        flow = normalize_flow(line)
        if flow is not None:
            out.add(flow)
    return out


def flow_diff(installed_text, desired):
    """Compare installed flows with the desired lines; return (added, removed) as lines.

    ``added`` are desired lines not installed; ``removed`` are installed lines (as
    printed) that are not desired. Both empty means nothing to do.
    """
    installed = {}
    for line in installed_text.splitlines():
        if 'NXST_FLOW' in line or 'OFPST_FLOW' in line:
            continue
        flow = normalize_flow(line)
        if flow is not None:
            installed[flow] = _clean_flow_line(line)
    wanted = dict((normalize_flow(line), line) for line in desired)
    added = [wanted[f] for f in wanted if f not in installed]
    removed = sorted(installed[f] for f in installed if f not in wanted)
    return added, removed


def flow_lines(text):
    """dump-flows output -> its flows as lines without counters and flags, sorted."""
    return sorted(_clean_flow_line(line) for line in text.splitlines()
                  if 'FLOW reply' not in line and normalize_flow(line) is not None)


def _clean_flow_line(line):
    tokens = []
    match_part, sep, actions = line.strip().partition(' actions=')
    for token in match_part.replace(' ', ',').split(','):
        if token and not token.startswith(_FLOW_NOISE):
            tokens.append(token)
    return ','.join(tokens) + sep + actions
