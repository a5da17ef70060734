# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""gre_network and CloudStack's KVM agent on the same switch, on three lab hosts.

The agent is replayed with ``testbed.agent`` (its ovs-vsctl command lines, run on the hosts).
(a) module mesh, then the agent for every network on every host: the agent calls every bridge
configured, runs no setup, STP stays off, every VM pair of a network answers (12/12) and no
pair across networks does (0/18); (c) a tunnel the agent adds to a host the inventory does not
list survives a default run and goes with ``purge=all_stale``; (b) on a second lab the agent
builds the mesh first (its bridges, STP on), then ``gre_mesh.yml`` adopts it: same matrix, no
duplicate ports, second run 0 changed.
"""

import json
import subprocess

import pytest

from conftest import ansible, recap, run_module
from testbed.agent import AgentReplay, replay_mesh

from ansible_collections.cloudstack.ovs.plugins.module_utils.cloudstack_agent import (
    ovs_vsctl_string,
)

KEYS = (1001, 1002)
VM_NET = {1001: '203.0.113.1%d', 1002: '203.0.113.2%d'}
STRAY = dict(host_id=9, remote_ip='192.0.2.99')  # a host the inventory does not list


# ---------------------------------------------------------------- helpers

def mesh_args(lab, host, **extra):
    networks = [dict(key=key, peers=[dict(host_id=p.host_id, remote_ip=p.mgmt_ip)
                                     for p in lab.hosts if p is not host]) for key in KEYS]
    args = dict(host_id=host.host_id, networks=networks, datapath_type='netdev', db=host.ovs.db)
    args.update(extra)
    return args


def run_playbook(lab, directory):
    inventory = lab.write_mesh_inventory(str(directory / 'inventory.yml'), KEYS)
    proc = ansible('ansible-playbook', '-i', inventory, 'playbooks/gre_mesh.yml')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return dict((name, counts['changed']) for name, counts in recap(proc.stdout).items())


def add_vms(lab):
    # After the playbook runs (see Lab.add_mesh_vms).
    return lab.add_mesh_vms(VM_NET)


def matrix(lab, vms):
    """(answered pairs inside the networks, of 12; answered pairs across them, of 18)."""
    inside = across = 0
    for src in lab.hosts:
        for dst in lab.hosts:
            for key in KEYS:
                if src is not dst and vms[src.index, key].ping(vms[dst.index, key].ip):
                    inside += 1
            for key, other in ((1001, 1002), (1002, 1001)):
                if vms[src.index, key].ping(vms[dst.index, other].ip, count=1, timeout=2):
                    across += 1
    return inside, across


def tunnels(host):
    """Every GRE interface of the host as (bridge, key, remote_ip) -> [port names]."""
    out = {}
    for bridge in host.ovs.vsctl('list-br').split():
        for port in host.ovs.vsctl('list-ports', bridge).split():
            if host.ovs.get('Interface', port, 'type') != 'gre':
                continue
            ident = (bridge, host.ovs.get('Interface', port, 'options:key').strip('"'),
                     host.ovs.get('Interface', port, 'options:remote_ip').strip('"'))
            out.setdefault(ident, []).append(port)
    return out


def expected_tunnels(lab, host):
    return dict((('OVSTunnel%d' % key, str(key), peer.mgmt_ip),
                 ['t%d-%d-%d' % (key, host.host_id, peer.host_id)])
                for key in KEYS for peer in lab.hosts if peer is not host)


def db_state(host):
    return ''.join(host.ovs.vsctl('--columns=%s' % cols, 'list', table)
                   for table, cols in (('Bridge', 'name,ports,stp_enable,other_config'),
                                       ('Port', 'name,interfaces,protected,external_ids'),
                                       ('Interface', 'name,type,options')))


def agent_view(lab):
    """Per host and bridge: does the agent's own check call it configured; is STP on."""
    view = {}
    for host in lab.hosts:
        agent = AgentReplay(host)
        for key in KEYS:
            bridge = 'OVSTunnel%d' % key
            view[host.name, key] = (agent.is_configured(bridge),
                                    host.ovs.get('Bridge', bridge, 'stp_enable'))
    return view


# ---------------------------------------------------------------- the printed value

@pytest.mark.parametrize('value', ['5', '5,-1', '-1', '', '5,5,-1', 'OVSTunnel1001', 'True',
                                   'true', 'a"b', 'back\\slash', 'csdpdk-3', '1abc', 'a b',
                                   '0d2c3b6e-5b3c-4c1e-9f0a-1b2c3d4e5f60'])
def test_ovs_vsctl_string_is_what_ovs_vsctl_get_prints(ovs_switch, value):
    """The value is written as JSON through ovsdb-client (not through ovs-vsctl's syntax) and
    read back with the real ``ovs-vsctl get`` the agent runs."""
    ovs = ovs_switch.ovs
    ovs.vsctl('add-br', 'br0', '--', 'set', 'Bridge', 'br0', 'datapath_type=netdev')
    txn = ['Open_vSwitch', dict(op='update', table='Bridge', where=[['name', '==', 'br0']],
                                row=dict(other_config=['map', [['ovs-host-setup', value]]]))]
    proc = subprocess.run(['ovsdb-client', 'transact', ovs_switch.db, json.dumps(txn)],
                          capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 0 and '"error"' not in proc.stdout, proc.stdout + proc.stderr
    printed = ovs.vsctl('get', 'Bridge', 'br0', 'other_config:ovs-host-setup')
    assert printed.split('\n')[0].strip() == ovs_vsctl_string(value)


# ---------------------------------------------------------------- (a) module first, then (c)

@pytest.fixture(scope='module')
def module_mesh(lab, tmp_path_factory):
    directory = tmp_path_factory.mktemp('agent-a')
    first = run_playbook(lab, directory)
    second = run_playbook(lab, directory)
    vms = add_vms(lab)
    return dict(first=first, second=second, vms=vms)


def test_a_agent_after_module_sees_configured_bridges_and_changes_nothing(lab, module_mesh):
    assert module_mesh['first'] == {'kvm1': 1, 'kvm2': 1, 'kvm3': 1}
    assert module_mesh['second'] == {'kvm1': 0, 'kvm2': 0, 'kvm3': 0}
    before = dict((h.name, db_state(h)) for h in lab.hosts)
    for host in lab.hosts:
        for key in KEYS:
            assert host.ovs.get('Bridge', 'OVSTunnel%d' % key, 'other_config:ovs-host-setup') \
                == '"%d,%d,-1"' % (host.host_id, host.host_id)
    # the agent, for every peer of every network, on every host (twice: "again later")
    results = replay_mesh(lab, KEYS, rounds=2)
    for name, steps in results.items():
        assert len(steps) == 8, (name, steps)
        for step in steps:
            assert step == dict(bridge=step['bridge'], bridge_created=False, setup_ran=False,
                                port_added=False), (name, step)
    assert set(agent_view(lab).values()) == {(True, 'false')}
    assert dict((h.name, db_state(h)) for h in lab.hosts) == before
    inside, across = matrix(lab, module_mesh['vms'])
    assert (inside, across) == (12, 0)
    for host in lab.hosts:
        assert run_module('gre_network', mesh_args(lab, host))['changed'] is False
        assert tunnels(host) == expected_tunnels(lab, host)


def test_c_default_run_keeps_an_agent_tunnel_the_inventory_lacks_explicit_purge_removes_it(
        lab, module_mesh):
    kvm1 = lab.hosts[0]
    agent = AgentReplay(kvm1)
    step = agent.ovs_create_tunnel_command(1001, STRAY['host_id'], STRAY['remote_ip'])
    assert step['port_added'] and not step['setup_ran']
    stray = 't1001-1-9'
    result = run_module('gre_network', mesh_args(lab, kvm1), diff=True)
    assert not result.get('failed'), result
    change = result['changes']['1001']
    assert change['ports_removed'] == [] and change['ports_added'] == []
    assert [t['name'] for t in change['ports_left_alone']] == [stray]
    assert 'not created by this collection' in change['ports_left_alone'][0]['reason']
    assert result['diff']['after']['1001']['left_alone'] == change['ports_left_alone']
    assert stray in kvm1.ovs.vsctl('list-ports', 'OVSTunnel1001').split()
    # left alone, but protected: STP is off, so no tunnel may pass frames to another
    assert kvm1.ovs.get('Port', stray, 'protected') == 'true'
    again = run_module('gre_network', mesh_args(lab, kvm1))
    assert again['changed'] is False and stray in kvm1.ovs.vsctl('list-ports', 'OVSTunnel1001')
    assert matrix(lab, module_mesh['vms']) == (12, 0)

    cleanup = run_module('gre_network', mesh_args(lab, kvm1, purge='all_stale'), diff=True)
    assert cleanup['changed'] and cleanup['changes']['1001']['ports_removed'] == [stray]
    assert cleanup['changes']['1001']['ports_left_alone'] == []
    assert stray not in kvm1.ovs.vsctl('list-ports', 'OVSTunnel1001').split()
    assert run_module('gre_network', mesh_args(lab, kvm1))['changed'] is False
    assert tunnels(kvm1) == expected_tunnels(lab, kvm1)


# ---------------------------------------------------------------- (b) agent first

def test_b_module_adopts_the_mesh_the_agent_built(second_lab, tmp_path_factory):
    lab = second_lab
    results = replay_mesh(lab, KEYS)
    for name, steps in results.items():
        # per network: the bridge made once, set up at each of the two commands (the printed
        # value only matches from "<id>,<id>,-1" on), every tunnel added
        assert [s['bridge_created'] for s in steps] == [True, False, True, False], name
        assert [s['setup_ran'] for s in steps] == [True, True, True, True], name
        assert all(s['port_added'] for s in steps), name
    for host in lab.hosts:
        for key in KEYS:
            bridge = 'OVSTunnel%d' % key
            assert host.ovs.get('Bridge', bridge, 'stp_enable') == 'true'
            assert host.ovs.get('Bridge', bridge, 'other_config:ovs-host-setup') == \
                '"%d,%d,-1"' % (host.host_id, host.host_id)
            assert host.ovs.get('Bridge', bridge, 'other_config:gre_key') == bridge
    # the agent again: configured now, nothing more
    assert all(not s['setup_ran'] for steps in replay_mesh(lab, KEYS).values() for s in steps)

    directory = tmp_path_factory.mktemp('agent-b')
    first = run_playbook(lab, directory)
    assert first == {'kvm1': 1, 'kvm2': 1, 'kvm3': 1}
    second = run_playbook(lab, directory)
    assert second == {'kvm1': 0, 'kvm2': 0, 'kvm3': 0}
    for host in lab.hosts:
        assert tunnels(host) == expected_tunnels(lab, host)  # no duplicates
        for key in KEYS:
            bridge = 'OVSTunnel%d' % key
            # the agent's markers kept, STP off, its ports adopted and protected
            assert host.ovs.get('Bridge', bridge, 'other_config:gre_key') == bridge
            assert host.ovs.get('Bridge', bridge, 'other_config:ovs-host-setup') == \
                '"%d,%d,-1"' % (host.host_id, host.host_id)
            for peer in lab.hosts:
                if peer is not host:
                    name = 't%d-%d-%d' % (key, host.host_id, peer.host_id)
                    assert host.ovs.get('Port', name, 'protected') == 'true'
                    assert host.ovs.get('Port', name, 'external_ids:cloudstack-ovs-adopted') \
                        == 'gre_network'
    assert set(agent_view(lab).values()) == {(True, 'false')}
    vms = add_vms(lab)
    assert matrix(lab, vms) == (12, 0)
    # the agent once more, later: nothing changes, the mesh still forwards and isolates
    before = dict((h.name, db_state(h)) for h in lab.hosts)
    replay_mesh(lab, KEYS)
    assert dict((h.name, db_state(h)) for h in lab.hosts) == before
    for host in lab.hosts:
        assert run_module('gre_network', mesh_args(lab, host))['changed'] is False
    assert matrix(lab, vms) == (12, 0)


# ---------------------------------------------------------------- DPDK vhost-user ports

def test_dpdk_ports_the_agent_made_read_as_right_and_the_next_name_is_the_agents(tmp_path):
    from dpdk_env import Hugepages, require_dpdk_binary, start_dpdk_switch
    require_dpdk_binary()
    pages = Hugepages().reserve()
    switch = None
    try:
        switch = start_dpdk_switch(vhost_sock_dir='vhu')
        assert switch.ovs.get('Open_vSwitch', '.', 'dpdk_initialized') == 'true', \
            switch.ovs.log_tail()
        switch.ovs.vsctl('add-br', 'cloudbr1', '--', 'set', 'Bridge', 'cloudbr1',
                         'datapath_type=netdev')
        ovs_path = str(tmp_path)  # client mode: QEMU would create the sockets here
        agent = AgentReplay(switch, host_id=1)
        made = [(agent.add_dpdk_port('cloudbr1', vlan=0, ovs_path=ovs_path), None, 'client'),
                (agent.add_dpdk_port('cloudbr1', vlan=100, ovs_path=ovs_path), 100, 'client'),
                (agent.add_dpdk_port('cloudbr1', vlan=4095, client=False), None, 'server')]
        assert [m[0] for m in made] == ['csdpdk-1', 'csdpdk-2', 'csdpdk-3']
        ovs = switch.ovs
        assert ovs.get('Interface', 'csdpdk-1', 'options:vhost-server-path') == \
            '"%s//csdpdk-1"' % ovs_path
        assert ovs.get('Port', 'csdpdk-1', 'tag') == '[]'
        assert ovs.get('Port', 'csdpdk-2', 'tag') == '100'
        assert ovs.get('Port', 'csdpdk-3', 'tag') == '[]'
        for name, tag, mode in made:
            args = dict(bridge='cloudbr1', name=name, mode=mode, ovs_path=ovs_path, db=switch.db)
            if tag is not None:
                args['tag'] = tag
            result = run_module('dpdk_port', args, diff=True)
            assert result.get('failed') is None and result['changed'] is False, result
        # the next name: the module and the agent agree, also with a look-alike name around
        for extra in (None, 'xcsdpdk-7'):
            if extra:
                ovs.vsctl('add-port', 'cloudbr1', extra, '--', 'set', 'Interface', extra,
                          'type=dpdkvhostuser')
            result = run_module('dpdk_port', dict(bridge='cloudbr1', db=switch.db),
                                check_mode=True)
            assert result['port'] == agent.next_dpdk_port(), result
        assert result['port'] == 'csdpdk-8'
    finally:
        if switch is not None:
            switch.destroy()
        pages.release()
