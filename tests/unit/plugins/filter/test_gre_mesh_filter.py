# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""gre_mesh_networks: each host's GRE networks and peers from the inventory, in one pass."""

import os

import pytest
import yaml

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudstack.ovs.plugins.filter import gre_mesh
from ansible_collections.cloudstack.ovs.plugins.filter.gre_mesh import (
    gre_mesh_checked,
    gre_mesh_networks,
)
from ansible_collections.cloudstack.ovs.plugins.plugin_utils.gre_mesh_host import (
    MeshError,
    host_networks,
)


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
        # the whole mesh is checked: three variables of every member, once
        assert CountingVars.reads == 3 * count


def test_checked_mesh_is_compact_and_names_the_peers_of_each_key_in_members_order():
    checked = gre_mesh_checked(HOSTVARS, MEMBERS, ['kvm1', 'other'])
    assert checked == {
        'host_ids': {'kvm1': 1, 'kvm2': 2, 'kvm3': 3, 'kvm4': 4, 'other': 9},
        'networks': {'kvm1': [1001, 1002], 'kvm2': [1001], 'kvm3': [1002, 1001], 'kvm4': [],
                     'other': [1001]},
        # 'other' is a host of the run but no member: checked, never a peer
        'peers': {'1001': [{'host_id': 1, 'remote_ip': '192.0.2.11'},
                           {'host_id': 2, 'remote_ip': '192.0.2.12'},
                           {'host_id': 3, 'remote_ip': '192.0.2.13'}],
                  '1002': [{'host_id': 1, 'remote_ip': '192.0.2.11'},
                           {'host_id': 3, 'remote_ip': '192.0.2.13'}]}}
    assert gre_mesh_checked({'a': {}}, ['a']) == {
        'host_ids': {'a': None}, 'networks': {'a': []}, 'peers': {}}


def test_checked_mesh_reads_each_hosts_variables_once_for_the_whole_run():
    """Once per run, not per host: 3 reads per host, where gre_mesh_networks on every host
    reads 3 x members per host."""
    count = 40
    hostvars = dict(('h%d' % i, CountingVars(host(i, '192.0.2.%d' % i, list(range(1001, 1009)))))
                    for i in range(1, count + 1))
    CountingVars.reads = 0
    checked = gre_mesh_checked(hostvars, sorted(hostvars), sorted(hostvars))
    assert CountingVars.reads == 3 * count
    assert [len(checked['peers'][str(k)]) for k in range(1001, 1009)] == [count] * 8


def playbook():
    """The play of playbooks/gre_mesh.yml."""
    path = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'playbooks',
                        'gre_mesh.yml')
    with open(path) as handle:
        return yaml.safe_load(handle)[0]


def test_the_playbook_passes_the_checked_mesh_by_name():
    """gre_mesh.yml keeps the checked mesh with set_fact and names that variable in mesh_var."""
    check, converge = playbook()['tasks']
    (fact,) = check['ansible.builtin.set_fact']
    assert 'cloudstack.ovs.gre_mesh_checked' in check['ansible.builtin.set_fact'][fact]
    assert check['run_once'] is True
    args = converge['cloudstack.ovs.gre_network']
    assert args['mesh_var'] == fact and 'networks' not in args
    # the action fails every host when the check failed, and skips hosts without networks
    assert check['ignore_errors'] is True and args['mesh_check_var'] == check['register']
    assert 'when' not in converge and 'vars' not in playbook()
    # nothing to template in a host's worker (each template is compiled anew there)
    assert not [v for v in args.values() if '{{' in str(v)], args


@pytest.mark.parametrize('members', [MEMBERS, ['kvm3', 'kvm2', 'kvm1', 'kvm4'], ['kvm2', 'kvm1']])
def test_the_actions_derivation_gives_what_gre_mesh_networks_gives(members):
    """gre_network's action takes each host's networks from the checked mesh in Python
    (no collection filter, no other host's variables, no templating in the host's worker)."""
    checked = gre_mesh_checked(HOSTVARS, members, MEMBERS)
    for name in MEMBERS:
        got = host_networks(checked, name)
        assert got == gre_mesh_networks(HOSTVARS, members, name), name
        assert [n['key'] for n in got] == checked['networks'][name]


def test_the_actions_derivation_refuses_what_is_not_a_checked_mesh():
    checked = gre_mesh_checked(HOSTVARS, MEMBERS)
    with pytest.raises(MeshError, match='has no entry for host nohost'):
        host_networks(checked, 'nohost')
    with pytest.raises(MeshError, match=r'mesh_var m must be the result of .*got list'):
        host_networks([], 'kvm1', what='mesh_var m')
    with pytest.raises(MeshError, match=r"keys \['networks'\]"):
        host_networks({'networks': {}}, 'kvm1')


def test_one_worker_checks_the_same_mesh_once(monkeypatch):
    """In an Ansible worker (one host, one task) the task templates the variable twice."""
    hostvars = dict(('h%d' % i, CountingVars(host(i, '192.0.2.%d' % i, [1001])))
                    for i in range(1, 5))
    monkeypatch.setattr(gre_mesh, '_in_worker', lambda: True)
    monkeypatch.setattr(gre_mesh, '_CACHE', {})
    CountingVars.reads = 0
    first = gre_mesh_networks(hostvars, sorted(hostvars), 'h1')
    assert gre_mesh_networks(hostvars, sorted(hostvars), 'h1') == first
    assert CountingVars.reads == 3 * 4
    # another mesh object or other members: checked again
    gre_mesh_networks(dict(hostvars), sorted(hostvars), 'h1')
    gre_mesh_networks(hostvars, sorted(hostvars)[:2], 'h1')
    assert CountingVars.reads == 3 * 4 * 2 + 3 * 2
    # outside a worker (the controller's hostvars change between tasks) nothing is kept
    monkeypatch.setattr(gre_mesh, '_in_worker', lambda: False)
    monkeypatch.setattr(gre_mesh, '_CACHE', {})
    CountingVars.reads = 0
    gre_mesh_networks(hostvars, sorted(hostvars), 'h1')
    gre_mesh_networks(hostvars, sorted(hostvars), 'h1')
    assert CountingVars.reads == 3 * 4 * 2


@pytest.mark.parametrize('hostvars,members,name,message', [
    (dict(HOSTVARS, kvm2={'cloudstack_gre_networks': [1001], 'cloudstack_underlay_ip': 'x'}),
     MEMBERS, 'kvm1', 'cloudstack_host_id of kvm2: is not set; kvm2 carries GRE network(s) 1001'),
    (dict(HOSTVARS, kvm2={'cloudstack_gre_networks': [1001], 'cloudstack_host_id': 2}),
     MEMBERS, 'kvm1', 'cloudstack_underlay_ip of kvm2: is not set'),
    (dict(HOSTVARS, kvm2=host('two', '192.0.2.12', [1001])), MEMBERS, 'kvm1',
     "cloudstack_host_id of kvm2: must be an integer (got 'two')"),
    (dict(HOSTVARS, kvm1=host(1, '192.0.2.11', '1001')), MEMBERS, 'kvm1',
     "cloudstack_gre_networks of kvm1: must be a list of GRE keys (got '1001')"),
    (dict(HOSTVARS, kvm3=host(3, '192.0.2.13', ['blue'])), MEMBERS, 'kvm1',
     "cloudstack_gre_networks of kvm3: must be an integer (got 'blue')"),
    (HOSTVARS, MEMBERS + ['ghost'], 'kvm1', "ghost: is not among the hosts given"),
    (HOSTVARS, MEMBERS, 'ghost', "host 'ghost' is not among the hosts given"),
    (HOSTVARS, 'kvm1', 'kvm1', 'members must be a list'),
])
def test_bad_inventory_names_the_host_and_the_variable(hostvars, members, name, message):
    with pytest.raises(AnsibleFilterError) as err:
        gre_mesh_networks(hostvars, members, name)
    assert message in str(err.value)
    assert str(err.value).startswith('gre_mesh_networks: ')
    # the run's one check refuses it the same way (the host is a host of the run)
    with pytest.raises(AnsibleFilterError) as err:
        gre_mesh_checked(hostvars, members, [name])
    assert message.replace("host 'ghost'", 'ghost:') in str(err.value)
    assert str(err.value).startswith('gre_mesh_checked: ')


# Issue 22 D: each of these is wrong in ONE host's own entry. Before, only the peers sharing a
# network with the computing host were checked: the bad host itself (and hosts not sharing a
# network with it) converged while the others failed, and 2.7 became 2.
BAD_OWN_ENTRY = [
    ('id two', 'kvm4', host('two', '192.0.2.14', [1003]),
     "cloudstack_host_id of kvm4: must be an integer (got 'two')"),
    ('id 2.7', 'kvm4', host(2.7, '192.0.2.14', [1003]),
     'cloudstack_host_id of kvm4: must be an integer (got 2.7)'),
    ('id true', 'kvm4', host(True, '192.0.2.14', [1003]),
     'cloudstack_host_id of kvm4: must be an integer (got True)'),
    ('duplicate id', 'kvm4', host(2, '192.0.2.14', [1003]),
     'cloudstack_host_id of kvm4: 2 is also the cloudstack_host_id of kvm2'),
    ('duplicate address', 'kvm4', host(4, '192.0.2.12', [1003]),
     'cloudstack_underlay_ip of kvm4: 192.0.2.12 is also the cloudstack_underlay_ip of kvm2'),
    ('not an ip', 'kvm4', host(4, 'not-an-ip', [1003]),
     "cloudstack_underlay_ip of kvm4: 'not-an-ip' is not an IPv4 or IPv6 address literal"),
    ('octet 300', 'kvm4', host(4, '192.0.2.300', [1003]),
     "cloudstack_underlay_ip of kvm4: '192.0.2.300' is not an IPv4"),
    ('address true', 'kvm4', host(4, True, [1003]),
     'cloudstack_underlay_ip of kvm4: must be an IPv4 or IPv6 address (got True)'),
    ('key 1001.5', 'kvm4', host(4, '192.0.2.14', [1001.5]),
     'cloudstack_gre_networks of kvm4: must be an integer (got 1001.5)'),
    ('key 0', 'kvm4', host(4, '192.0.2.14', [0]),
     'cloudstack_gre_networks of kvm4: must be between 1 and 4294967295 (got 0)'),
]


@pytest.mark.parametrize('label,bad,entry,message', BAD_OWN_ENTRY,
                         ids=[b[0] for b in BAD_OWN_ENTRY])
def test_a_bad_entry_of_any_host_fails_every_host(label, bad, entry, message):
    hostvars = dict(HOSTVARS, **{bad: entry})
    for name in MEMBERS:   # kvm4 shares no network with anyone: all fail all the same
        with pytest.raises(AnsibleFilterError) as err:
            gre_mesh_networks(hostvars, MEMBERS, name)
        assert message in str(err.value), (name, str(err.value))
        assert 'no host is changed' in str(err.value)
    with pytest.raises(AnsibleFilterError) as err:
        gre_mesh_checked(hostvars, MEMBERS, MEMBERS)
    assert message in str(err.value) and 'no host is changed' in str(err.value)


def test_every_problem_is_named_up_to_five():
    hostvars = dict(('h%d' % i, host('x%d' % i, '192.0.2.%d' % i, [1001])) for i in range(1, 9))
    with pytest.raises(AnsibleFilterError) as err:
        gre_mesh_networks(hostvars, sorted(hostvars), 'h1')
    text = str(err.value)
    assert "cloudstack_host_id of h1: must be an integer (got 'x1')" in text
    assert "of h5:" in text and "of h6:" not in text and text.endswith('; and 3 more')


def test_hosts_without_networks_need_no_id_but_a_given_one_is_checked():
    hostvars = dict(HOSTVARS, kvm4={'cloudstack_gre_networks': []})
    assert gre_mesh_networks(hostvars, MEMBERS, 'kvm4') == []
    hostvars = dict(HOSTVARS, kvm4={'cloudstack_host_id': 'four'})
    with pytest.raises(AnsibleFilterError, match="cloudstack_host_id of kvm4: must be an"):
        gre_mesh_networks(hostvars, MEMBERS, 'kvm1')
