# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""One host's GRE networks and peers from the mesh checked once for a run
(``cloudstack.ovs.gre_mesh_checked``): what ``gre_mesh_networks`` gives for that host.

Controller-side and light: the ``gre_network`` action imports it in every host's worker, so it
imports nothing (docs/scale.md, "What the peer computation costs the controller").
"""

PARTS = ('host_ids', 'networks', 'peers')


class MeshError(ValueError):
    """The checked mesh is not what gre_mesh_checked returns, or does not hold the host."""


def host_networks(checked, host, what='the checked mesh'):
    """``[{key, peers: [{host_id, remote_ip}]}]`` for ``host``: one entry per key it carries (in
    its order), its peers being ``checked['peers'][str(key)]`` without its own entry."""
    if not hasattr(checked, 'get') or any(not hasattr(checked.get(p), 'get') for p in PARTS):
        raise MeshError('%s must be the result of cloudstack.ovs.gre_mesh_checked '
                        '({host_ids, networks, peers}), got %s'
                        % (what, type(checked).__name__ if not hasattr(checked, 'get')
                           else 'a mapping with keys %s' % sorted(checked)))
    keys = checked['networks'].get(host)
    if keys is None:
        raise MeshError('%s has no entry for host %s (not among the hosts it checked: '
                        'the run\'s hosts are passed as its third argument)' % (what, host))
    me = checked['host_ids'].get(host)
    peers = checked['peers']
    out = []
    for key in keys:
        members = peers.get(str(key))
        if members is None:
            raise MeshError('%s has no peers entry for key %s of host %s' % (what, key, host))
        out.append({'key': key,
                    'peers': [{'host_id': p['host_id'], 'remote_ip': p['remote_ip']}
                              for p in members if p['host_id'] != me]})
    return out
