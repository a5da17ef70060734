# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""gre_mesh_networks: each host's GRE networks and peers from the inventory, in one pass."""

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudstack.ovs.plugins.filter.gre_mesh import gre_mesh_networks


def host(host_id, ip, networks):
    return dict(cloudstack_host_id=host_id, cloudstack_underlay_ip=ip,
                cloudstack_gre_networks=networks)


class CountingVars(dict):
    """A host's variables that count reads (HostVars templates on every read)."""

    reads = 0

    def get(self, key, default=None):
        CountingVars.reads += 1
        return dict.get(self, key, default)


HOSTVARS = {
    'kvm1': host(1, '192.0.2.11', [1001, 1002]),
    'kvm2': host(2, '192.0.2.12', ['1001']),
    'kvm3': host(3, '192.0.2.13', [1002, 1001]),
    'kvm4': host(4, '192.0.2.14', []),
    'other': host(9, '192.0.2.19', [1001]),
}
MEMBERS = ['kvm1', 'kvm2', 'kvm3', 'kvm4']


def test_peers_are_the_other_members_carrying_the_key_in_members_order():
    assert gre_mesh_networks(HOSTVARS, MEMBERS, 'kvm1') == [
        {'key': 1001, 'peers': [{'host_id': 2, 'remote_ip': '192.0.2.12'},
                                {'host_id': 3, 'remote_ip': '192.0.2.13'}]},
        {'key': 1002, 'peers': [{'host_id': 3, 'remote_ip': '192.0.2.13'}]}]
    # keys in the host's own order, string keys compared as integers
    assert gre_mesh_networks(HOSTVARS, MEMBERS, 'kvm3') == [
        {'key': 1002, 'peers': [{'host_id': 1, 'remote_ip': '192.0.2.11'}]},
        {'key': 1001, 'peers': [{'host_id': 1, 'remote_ip': '192.0.2.11'},
                                {'host_id': 2, 'remote_ip': '192.0.2.12'}]}]


def test_a_host_without_networks_gets_none_and_a_lone_network_no_peers():
    assert gre_mesh_networks(HOSTVARS, MEMBERS, 'kvm4') == []
    assert gre_mesh_networks({'a': {}}, ['a'], 'a') == []
    assert gre_mesh_networks(HOSTVARS, ['kvm2'], 'kvm2') == [{'key': 1001, 'peers': []}]


def test_hosts_outside_members_are_no_peers_and_duplicates_count_once():
    nets = gre_mesh_networks(HOSTVARS, MEMBERS + ['kvm2'], 'kvm2')
    assert nets == [{'key': 1001, 'peers': [{'host_id': 1, 'remote_ip': '192.0.2.11'},
                                            {'host_id': 3, 'remote_ip': '192.0.2.13'}]}]
    dup = dict(HOSTVARS, kvm2=host(2, '192.0.2.12', [1001, '1001']))
    assert gre_mesh_networks(dup, MEMBERS, 'kvm2') == nets


def test_the_same_mesh_whichever_host_computes_it():
    """Symmetry: A peers B in network K exactly when B peers A in K."""
    links = set()
    for name in MEMBERS:
        me = HOSTVARS[name]['cloudstack_host_id']
        for net in gre_mesh_networks(HOSTVARS, MEMBERS, name):
            links.update((net['key'], me, p['host_id']) for p in net['peers'])
    assert links == set((k, b, a) for k, a, b in links)


def test_reads_each_members_variables_once_linear_in_hosts():
    for count in (10, 40):
        hostvars = dict(
            ('h%d' % i, CountingVars(host(i, '192.0.2.%d' % i, list(range(1001, 1009)))))
            for i in range(1, count + 1))
        CountingVars.reads = 0
        nets = gre_mesh_networks(hostvars, sorted(hostvars), 'h1')
        assert [len(n['peers']) for n in nets] == [count - 1] * 8
        # the host's own networks once, then three variables per peer
        assert CountingVars.reads == 1 + 3 * (count - 1)


@pytest.mark.parametrize('hostvars,members,name,message', [
    (dict(HOSTVARS, kvm2={'cloudstack_gre_networks': [1001], 'cloudstack_underlay_ip': 'x'}),
     MEMBERS, 'kvm1', 'kvm2 carries GRE network(s) 1001 shared with kvm1 but has no '
                      'cloudstack_host_id'),
    (dict(HOSTVARS, kvm2={'cloudstack_gre_networks': [1001], 'cloudstack_host_id': 2}),
     MEMBERS, 'kvm1', 'has no cloudstack_underlay_ip'),
    (dict(HOSTVARS, kvm2=host('two', '192.0.2.12', [1001])), MEMBERS, 'kvm1',
     "cloudstack_host_id of kvm2 must be an integer, got 'two'"),
    (dict(HOSTVARS, kvm1=host(1, '192.0.2.11', '1001')), MEMBERS, 'kvm1',
     "cloudstack_gre_networks of kvm1 must be a list of GRE keys, got '1001'"),
    (dict(HOSTVARS, kvm3=host(3, '192.0.2.13', ['blue'])), MEMBERS, 'kvm1',
     "cloudstack_gre_networks of kvm3: 'blue' is not a GRE key"),
    (HOSTVARS, MEMBERS + ['ghost'], 'kvm1', "member 'ghost' is not among the hosts given"),
    (HOSTVARS, MEMBERS, 'ghost', "host 'ghost' is not among the hosts given"),
    (HOSTVARS, 'kvm1', 'kvm1', 'members must be a list'),
])
def test_bad_inventory_names_the_host_and_the_variable(hostvars, members, name, message):
    with pytest.raises(AnsibleFilterError) as err:
        gre_mesh_networks(hostvars, members, name)
    assert message in str(err.value)
    assert str(err.value).startswith('gre_mesh_networks: ')
