# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The mesh doctor's indexes: the zone indexed once, and the host pairs each error breaks."""

from ansible_collections.cloudstack.ovs.plugins.module_utils.mesh_findings import (
    Findings,
    Zone,
    host_pair,
    pairs_broken_by,
)


def test_zone_indexes_hosts_and_networks_once():
    hosts = [dict(name='kvm2', host_id=2, underlay_ip='192.0.2.12', networks=[1002, 1001]),
             dict(name='kvm1', host_id=1, underlay_ip='192.0.2.11', networks=[1001]),
             dict(name='kvm3', host_id=3, underlay_ip='192.0.2.13', networks=[1002, 1002])]
    zone = Zone(hosts)
    assert zone.by_name['kvm1'] is hosts[1]
    assert zone.by_id == {1: 'kvm1', 2: 'kvm2', 3: 'kvm3'}
    assert zone.by_ip == {'192.0.2.11': 'kvm1', '192.0.2.12': 'kvm2', '192.0.2.13': 'kvm3'}
    # members in the hosts' order, each host once per network
    assert zone.members == {1001: ['kvm2', 'kvm1'], 1002: ['kvm2', 'kvm3']}
    assert zone.keys == [1001, 1002]


def test_pairs_broken_by_keeps_the_findings_order_and_skips_warnings():
    found = Findings()
    found.add('stp-on', 'kvm1', 'stp', 'fix', 1001,
              pairs=[host_pair(1001, 'kvm1', 'kvm2'), host_pair(1001, 'kvm3', 'kvm1')])
    found.add('tunnel-unknown-host', 'kvm2', 'unknown', 'fix', 1001,
              pairs=[host_pair(1001, 'kvm1', 'kvm2')])
    found.add('tunnel-missing', 'kvm2', 'missing', 'fix', 1001,
              pairs=[host_pair(1001, 'kvm2', 'kvm1'), host_pair(1001, 'kvm2', 'kvm1')])
    stp, _warning, missing = found.items
    index = pairs_broken_by(found.items)
    assert index == {(1001, 'kvm1', 'kvm2'): [stp, missing], (1001, 'kvm1', 'kvm3'): [stp]}
    # the same, with the pairs as lists (as diagnose returns them)
    for finding in found.items:
        finding['pairs'] = [list(p) for p in finding['pairs']]
    assert pairs_broken_by(found.items) == index
