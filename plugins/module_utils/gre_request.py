# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The parse step of ``gre_network``: its parameters checked and normalised once, before
anything is read (``gre_request``), and the value checks the mesh doctor shares.

The argument spec cannot say these: ``networks`` and ``peers`` have no ``suboptions`` because
Ansible's own errors for them do not name the entry at fault (see ``gre_request``). Each rule
is here once; a bad value raises ``ParamError`` naming the field and the value.
"""

import ipaddress

from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import ParamError
from ansible_collections.cloudstack.ovs.plugins.module_utils.gre_names import (
    PURGE_CHOICES,
    PURGE_NONE,
    PURGE_OURS,
    default_bridge,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.ofctl import ovs_rundir
from ansible_collections.cloudstack.ovs.plugins.module_utils.validate import (
    check_text,
    validate_ifname,
)

KEY_MIN = 1
KEY_MAX = 4294967295  # GRE keys are 32 bits
RETURN_TUNNELS = ('always', 'verbose', 'never')


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

    ``key`` or ``networks``, not both, is checked here and not with ``mutually_exclusive``
    and ``required_one_of`` in the argument spec: Ansible counts an option given as null as
    given, so ``key: null`` with ``networks`` would be refused (tried with ansible-core 2.19).
    """
    if params.get('host_id') is None:
        # not required in the spec: with mesh_var the action gives it
        raise ParamError('host_id: required, this host\'s CloudStack host id (got none)')
    host_id = validate_host_id('host_id', params.get('host_id'))
    local_ip = params.get('local_ip')
    if local_ip is not None:
        local_ip = validate_ip('local_ip', local_ip)

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


def return_tunnels(value, verbosity=0):
    """Whether the result lists every network's tunnels: O(return_tunnels) (``always``, the
    default; ``verbose``: at ``-v`` and more, ``verbosity`` being Ansible's; ``never``)."""
    if value is None or value == 'always':
        return True
    if value == 'verbose':
        return verbosity >= 1
    if value == 'never':
        return False
    raise ParamError('return_tunnels: must be one of %s (got %r)'
                     % (', '.join(RETURN_TUNNELS), value))


def gre_request(params, verbosity=0):
    """The ``gre_network`` parameters, checked and normalised once: the parse step.

    Returns ``host_id``, ``local_ip``, ``networks`` (see ``normalize_networks``), ``purge``
    (one of ``PURGE_CHOICES``), ``state``, ``remove_foreign`` (only with ``state=absent``),
    ``datapath_type``, ``flows`` (true when this call
    manages flow tables: ``flows`` and ``state=present``), ``rundir`` (of the bridges'
    OpenFlow sockets), ``timeout`` and ``tunnels_in_result`` (``return_tunnels`` at Ansible's
    ``verbosity``).

    Why ``networks`` and ``peers`` have no ``suboptions`` in the argument spec (tried with
    ansible-core 2.19): with suboptions, a string (``peers: a,b``) or a list holding a string
    fails with "dictionary requested, could not parse JSON or key=value", naming no field
    (without them, as now, Ansible says "Elements value for option 'peers' ..."); its other
    suboption errors name the list but never the entry ("missing required arguments:
    remote_ip found in networks -> peers"), and ``remote_ip: null`` silently became ``''``.
    So ``normalize_networks`` and ``normalize_peers`` check each entry, naming it
    (``networks[1].peers[2].remote_ip``); the spec keeps ``type: list, elements: dict``.
    """
    host_id, local_ip, networks = normalize_networks(params)
    purge = normalize_purge(params['purge'])
    tunnels_in_result = return_tunnels(params.get('return_tunnels'), verbosity)
    if params['ovs_rundir'] is not None:
        check_text('ovs_rundir', params['ovs_rundir'])
    state = params['state']
    remove_foreign = bool(params.get('remove_foreign'))
    if remove_foreign and state != 'absent':
        raise ParamError('remove_foreign: only state=absent removes ports; it is not for '
                         'state=%s (got %r)' % (state, params.get('remove_foreign')))
    return dict(host_id=host_id, local_ip=local_ip, networks=networks, purge=purge,
                state=state, remove_foreign=remove_foreign,
                datapath_type=params['datapath_type'],
                flows=bool(params['flows']) and state == 'present',
                rundir=ovs_rundir(params),
                timeout=params['timeout'],
                tunnels_in_result=tunnels_in_result)


def mesh_invocation(params):
    """The result's ``invocation`` when the action gave the networks from O(mesh_var): the
    parameters as the task gave them (``mesh_var`` named, the networks it expanded to left out),
    not Ansible's echo of every parameter (8 x (N-1) peers a host, sent back to the controller
    and decoded there for nothing: docs/scale.md). ``None`` otherwise (Ansible's own echo)."""
    if not params.get('mesh_var'):
        return None
    return {'module_args': dict((name, value) for name, value in params.items()
                                if name != 'networks')}
