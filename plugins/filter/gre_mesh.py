# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The GRE mesh from the inventory: ``gre_mesh_checked``, the whole mesh checked once for a run
(``playbooks/gre_mesh.yml``, ``plugins/filter/gre_mesh_checked.yml``), and ``gre_mesh_networks``,
one host's networks and peers (``plugins/filter/gre_mesh_networks.yml``).

Both check the whole mesh first (``module_utils/mesh_inventory.py``, shared with the mesh
doctor): a bad entry of any host fails every host's run, before any host changes. One pass over
the mesh's members reads each member's three variables once: linear in hosts x networks.

Within one Ansible worker process (one host, one task) ``gre_mesh_networks`` keeps the checked
mesh for the same mesh object and members: a task may template the variable more than once
(``when`` and the module's arguments). Only in a worker: the controller's one ``hostvars`` object lives across
tasks while ``set_fact`` and ``add_host`` change what it holds.
"""

import multiprocessing
import os

from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import ParamError
from ansible_collections.cloudstack.ovs.plugins.module_utils.mesh_inventory import validate_mesh
from ansible_collections.cloudstack.ovs.plugins.plugin_utils.filter_errors import filter_errors
from ansible_collections.cloudstack.ovs.plugins.plugin_utils.gre_mesh_host import host_networks

# (pid, mesh object, members, host) -> the compact checked mesh; the mesh object is held so that its id
# cannot be reused while cached.
_CACHE = {}


def _in_worker():
    """True in a forked Ansible worker (one host, one task), where variables do not change."""
    return multiprocessing.parent_process() is not None


def _reader(hostvars):
    def read(name, var):
        if name not in hostvars:
            raise ParamError('%s: is not among the hosts given (hostvars or '
                             'cloudstack_gre_mesh_hosts)' % name, field=var)
        hvars = hostvars[name]
        if not hasattr(hvars, 'get'):
            raise ParamError('%s: its variables are not a mapping (got %s)'
                             % (name, type(hvars).__name__), field=var)
        try:
            return hvars.get(var)
        # templating errors of the inventory's variables come in many types
        except Exception as exc:  # pylint: disable=broad-except
            raise ParamError('%s of %s: cannot be read: %s' % (var, name, exc), field=var)
    return read


def _members_and_hosts(members, hosts):
    for value, what in ((members, 'members'), (hosts, 'hosts')):
        if not isinstance(value, (list, tuple)):
            raise ParamError('%s must be a list of inventory host names, got %r' % (what, value))


def _compact(hostvars, members, hosts):
    """``gre_mesh_checked``'s value (below), without the filter's error wrapping."""
    member_set = set(members)
    names = list(members) + [h for h in hosts if h not in member_set]
    host_ids, networks, peers = {}, {}, {}
    for entry in validate_mesh(names, _reader(hostvars)):
        name = entry['name']
        host_ids[name] = entry['host_id']
        networks[name] = entry['networks']
        if name not in member_set:
            continue
        for key in entry['networks']:
            peers.setdefault(str(key), []).append({'host_id': entry['host_id'],
                                                   'remote_ip': entry['underlay_ip']})
    return {'host_ids': host_ids, 'networks': networks, 'peers': peers}


def _checked_mesh(hostvars, members, host):
    key = (os.getpid(), id(hostvars), tuple(members), host)
    cached = _CACHE.get(key)
    if cached is not None and cached[0] is hostvars:
        return cached[1]
    mesh = _compact(hostvars, members, [host])
    if _in_worker():
        _CACHE.clear()
        _CACHE[key] = (hostvars, mesh)
    return mesh


@filter_errors(named=True)
def gre_mesh_networks(hostvars, members, host):
    """``[{key, peers: [{host_id, remote_ip}]}]`` for ``host``: one entry per network it carries,
    its peers being the other ``members`` that carry the same key, in ``members`` order (the
    whole mesh checked as ``gre_mesh_checked`` does, then ``gre_mesh_host.host_networks``, as
    gre_network's ``mesh_var`` takes them)."""
    _members_and_hosts(members, [])
    if host not in hostvars:
        raise ParamError('host %r is not among the hosts given (hostvars or cloudstack_gre_mesh_hosts)'
                         % (host,))
    return host_networks(_checked_mesh(hostvars, members, host), host)


@filter_errors(named=True)
def gre_mesh_checked(hostvars, members, hosts=None):
    """The whole mesh checked once, compact (hosts x networks), for every host of a run to take
    its own networks from without reading any other host's variables:
    ``{host_ids: {host: id}, networks: {host: [key]}, peers: {'<key>': [{host_id, remote_ip}]}}``.

    ``hosts`` (the hosts of the run) are checked as well and get ``host_ids`` and ``networks``
    entries; only ``members`` are peers. The peers of host H in network K are ``peers['K']``
    without H's own entry (host ids are unique), in ``members`` order: what
    ``gre_mesh_networks(hostvars, members, H)`` gives.
    """
    hosts = hosts or []
    _members_and_hosts(members, hosts)
    return _compact(hostvars, members, hosts)


class FilterModule(object):
    """cloudstack.ovs GRE mesh filters."""

    def filters(self):
        return {'gre_mesh_networks': gre_mesh_networks, 'gre_mesh_checked': gre_mesh_checked}
