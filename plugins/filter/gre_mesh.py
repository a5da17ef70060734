# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The GRE mesh of one host from the inventory (used by ``playbooks/gre_mesh.yml``).

Documented in ``plugins/filter/gre_mesh_networks.yml``. One pass over the mesh's members reads
each member's three variables once: linear in the number of hosts (the Jinja it replaces looked
every peer up once per network of the host).
"""

from ansible.errors import AnsibleFilterError

try:
    from collections.abc import Mapping
except ImportError:  # pragma: no cover  (Python 2 is not supported by the collection)
    Mapping = dict  # pylint: disable=invalid-name

NETWORKS_VAR = 'cloudstack_gre_networks'
HOST_ID_VAR = 'cloudstack_host_id'
UNDERLAY_VAR = 'cloudstack_underlay_ip'


def _fail(msg):
    raise AnsibleFilterError('gre_mesh_networks: %s' % msg)


def _keys(name, value):
    """A host's list of GRE keys as ints (order kept, duplicates dropped)."""
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        _fail('%s of %s must be a list of GRE keys, got %r' % (NETWORKS_VAR, name, value))
    keys = []
    for item in value:
        try:
            key = int(item)
        except (TypeError, ValueError):
            _fail('%s of %s: %r is not a GRE key (an integer)' % (NETWORKS_VAR, name, item))
        if key not in keys:
            keys.append(key)
    return keys


def _var(hvars, name, var):
    try:
        return hvars.get(var)
    # templating errors of the inventory's variables come in many types
    except Exception as exc:  # pylint: disable=broad-except
        _fail('%s of %s cannot be read: %s' % (var, name, exc))


def gre_mesh_networks(hostvars, members, host):
    """``[{key, peers: [{host_id, remote_ip}]}]`` for ``host``: one entry per network it carries,
    its peers being the other ``members`` that carry the same key, in ``members`` order."""
    if not isinstance(members, (list, tuple)):
        _fail('members must be a list of inventory host names, got %r' % (members,))
    if host not in hostvars:
        _fail('host %r is not among the hosts given (hostvars or cloudstack_gre_mesh_hosts)'
              % (host,))
    mine = _keys(host, _var(hostvars[host], host, NETWORKS_VAR))
    if not mine:
        return []
    wanted = set(mine)
    peers = dict((key, []) for key in mine)
    seen = set()
    for name in members:
        if name == host or name in seen:
            continue
        seen.add(name)
        if name not in hostvars:
            _fail('member %r is not among the hosts given (hostvars or '
                  'cloudstack_gre_mesh_hosts)' % (name,))
        hvars = hostvars[name]
        if not isinstance(hvars, Mapping) and not hasattr(hvars, 'get'):
            _fail('hostvars of %s is not a mapping' % name)
        shared = wanted.intersection(_keys(name, _var(hvars, name, NETWORKS_VAR)))
        if not shared:
            continue
        host_id = _var(hvars, name, HOST_ID_VAR)
        remote_ip = _var(hvars, name, UNDERLAY_VAR)
        if host_id is None or remote_ip in (None, ''):
            _fail('%s carries GRE network(s) %s shared with %s but has no %s'
                  % (name, ', '.join(str(k) for k in sorted(shared)), host,
                     HOST_ID_VAR if host_id is None else UNDERLAY_VAR))
        try:
            host_id = int(host_id)
        except (TypeError, ValueError):
            _fail('%s of %s must be an integer, got %r' % (HOST_ID_VAR, name, host_id))
        peer = {'host_id': host_id, 'remote_ip': str(remote_ip)}
        for key in mine:
            if key in shared:
                peers[key].append(peer)
    return [{'key': key, 'peers': peers[key]} for key in mine]


class FilterModule(object):
    """cloudstack.ovs GRE mesh filter."""

    def filters(self):
        return {'gre_mesh_networks': gre_mesh_networks}
