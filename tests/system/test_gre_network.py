# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""gre_network on three lab hosts: real GRE on the underlay, real packets between "VMs".

Two networks (keys 1001 and 1002) in one /24, so isolation is proven at layer 2: a VM of one
network could reach a VM of the other if any frame crossed. The mesh is built once per module
by ``playbooks/gre_mesh.yml`` over SSH; later tests call the module with ``db=host.ovs.db``.
"""

import json
import re
import subprocess
import time

import pytest

from conftest import ansible, run_module

KEYS = (1001, 1002)
# VM addresses: network 1001 -> 203.0.113.1<host>, network 1002 -> 203.0.113.2<host>.
VM_NET = {1001: '203.0.113.1%d', 1002: '203.0.113.2%d'}
UNUSED_IP = '203.0.113.99'


def mesh_args(lab, host, keys=KEYS, drop_peer=None):
    networks = []
    for key in keys:
        peers = [dict(host_id=h.host_id, remote_ip=h.mgmt_ip) for h in lab.hosts
                 if h is not host and h is not drop_peer]
        networks.append(dict(key=key, peers=peers))
    return dict(host_id=host.host_id, networks=networks, datapath_type='netdev',
                db=host.ovs.db)


def bridge_ports(host, bridge):
    return sorted(host.ovs.vsctl('list-ports', bridge).split())


def db_state(host):
    """What a module call could change, without counters that ovs-vswitchd keeps updating."""
    return ''.join(host.ovs.vsctl('--columns=%s' % cols, 'list', table)
                   for table, cols in (('Bridge', 'name,ports,other_config,external_ids'),
                                       ('Port', 'name,interfaces,protected,external_ids'),
                                       ('Interface', 'name,type,options,external_ids')))


def capture(netns, iface, bpf, seconds):
    """Start tcpdump in ``netns`` on ``iface`` for ``seconds``; returns the Popen."""
    proc = subprocess.Popen(['ip', 'netns', 'exec', netns, 'timeout', str(seconds), 'tcpdump',
                             '-l', '-nn', '-v', '-i', iface, bpf], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(0.8)  # let tcpdump attach before the traffic starts
    return proc


def vm_capture(vm, bpf, seconds=4):
    return capture(vm.netns, 'eth0', bpf, seconds)


def lines(proc):
    out, _err = proc.communicate()
    return [ln for ln in out.splitlines() if ln.strip()]


@pytest.fixture(scope='module')
def mesh(lab, tmp_path_factory):
    """The underlay on OVS, the mesh from the playbook over SSH, one VM per host and network."""
    inventory = lab.write_mesh_inventory(
        str(tmp_path_factory.mktemp('gre') / 'inventory.yml'), KEYS)
    first = ansible('ansible-playbook', '-i', inventory, 'playbooks/gre_mesh.yml')
    assert first.returncode == 0, first.stdout + first.stderr
    second = ansible('ansible-playbook', '-i', inventory, 'playbooks/gre_mesh.yml')
    # The underlay moves onto cloudbr0 after the playbook runs (see Lab.add_mesh_vms).
    vms = lab.add_mesh_vms(VM_NET)
    return dict(first=first, second=second, vms=vms)


def recap_changed(stdout):
    return dict((m.group(1), int(m.group(2)))
                for m in re.finditer(r'^(\S+)\s+:\s+ok=\d+\s+changed=(\d+)', stdout, re.M))


def ping_matrix(lab, vms):
    """Every ordered pair within each network must answer; returns the failures."""
    failures = []
    for key in KEYS:
        for src in lab.hosts:
            for dst in lab.hosts:
                if src is not dst and not vms[src.index, key].ping(vms[dst.index, key].ip):
                    failures.append((key, src.name, dst.name))
    return failures


def test_playbook_builds_the_mesh_over_ssh(lab, mesh):
    assert recap_changed(mesh['first'].stdout) == {'kvm1': 1, 'kvm2': 1, 'kvm3': 1}
    # the second run of the playbook finds nothing to do
    assert recap_changed(mesh['second'].stdout) == {'kvm1': 0, 'kvm2': 0, 'kvm3': 0}, \
        mesh['second'].stdout
    for host in lab.hosts:
        for key in KEYS:
            bridge = 'OVSTunnel%d' % key
            tunnels = ['t%d-%d-%d' % (key, host.host_id, peer.host_id)
                       for peer in lab.hosts if peer is not host]
            assert set(tunnels) <= set(bridge_ports(host, bridge))
            for name, peer in zip(tunnels, [p for p in lab.hosts if p is not host]):
                assert host.ovs.get('Interface', name, 'options:remote_ip') == '"%s"' % peer.mgmt_ip
                assert host.ovs.get('Interface', name, 'options:key') == '"%d"' % key
                assert host.ovs.get('Port', name, 'protected') == 'true'
            assert host.ovs.get('Bridge', bridge, 'other_config:is-ovs-tun-network') == 'True'
            assert host.ovs.get('Bridge', bridge, 'other_config:gre_key') == '"%d"' % key
            assert str(host.host_id) in host.ovs.get('Bridge', bridge,
                                                     'other_config:ovs-host-setup')


def test_every_pair_pings_and_nothing_crosses(lab, mesh):
    vms = mesh['vms']
    assert ping_matrix(lab, vms) == []
    # Same /24 in both networks: only layer-2 isolation keeps these apart.
    for src in lab.hosts:
        for dst in lab.hosts:
            assert not vms[src.index, 1001].ping(vms[dst.index, 1002].ip, count=1, timeout=2), \
                (src.name, dst.name)


def test_underlay_carries_gre_with_the_network_key(lab, mesh):
    vms = mesh['vms']
    dump = capture(lab.switch_ns, 'lan0', 'ip proto 47', 5)
    for key in KEYS:
        assert vms[1, key].ping(vms[2, key].ip)
    text = '\n'.join(lines(dump))
    for key in KEYS:
        assert 'key=0x%x' % key in text, text


def test_broadcast_is_seen_once_per_host_and_does_not_loop(lab, mesh):
    vms = mesh['vms']
    sender = vms[1, 1001]
    on_peers = [vm_capture(vms[i, 1001], 'arp and arp[6:2] == 1 and host %s' % UNUSED_IP)
                for i in (2, 3)]
    on_other_net = vm_capture(vms[2, 1002], 'arp and host %s' % UNUSED_IP)
    underlay = capture(lab.switch_ns, 'lan0', 'ip proto 47', 4)
    sender.run('arping', '-c', '1', '-w', '1', '-I', 'eth0', UNUSED_IP, check=False)
    for proc in on_peers:
        seen = [ln for ln in lines(proc) if 'Request who-has %s' % UNUSED_IP in ln]
        assert len(seen) == 1, seen
    assert lines(on_other_net) == []
    # kvm1 sends one copy to each peer; a loop would put many more on the wire.
    gre_text = '\n'.join(lines(underlay))
    assert gre_text.count('who-has %s' % UNUSED_IP) == 2, gre_text


def test_removing_a_peer_removes_exactly_its_port(lab, mesh):
    kvm1, kvm3 = lab.hosts[0], lab.hosts[2]
    before = dict((k, bridge_ports(kvm1, 'OVSTunnel%d' % k)) for k in KEYS)
    result = run_module('gre_network', mesh_args(lab, kvm1, drop_peer=kvm3), diff=True)
    assert result['changed'], result
    assert result['changes']['1001']['ports_removed'] == ['t1001-1-3']
    assert result['changes']['1002']['ports_removed'] == ['t1002-1-3']
    assert result['changes']['1001']['ports_added'] == []
    for key in KEYS:
        gone = 't%d-1-3' % key
        assert bridge_ports(kvm1, 'OVSTunnel%d' % key) == [p for p in before[key] if p != gone]
        # its split-horizon flows went with it; the remaining tunnel's stayed
        flows = '\n'.join(kvm1.ovs.flows('OVSTunnel%d' % key))
        ofport = kvm1.ovs.wait_ofport('t%d-1-2' % key)
        assert 'in_port=%d,' % ofport in flows and flows.count('priority=1000') == 2
    assert mesh['vms'][1, 1001].ping(mesh['vms'][2, 1001].ip)
    # put it back; then a re-run has nothing to do
    assert run_module('gre_network', mesh_args(lab, kvm1))['changes']['1001']['ports_added'] == \
        ['t1001-1-3']
    again = run_module('gre_network', mesh_args(lab, kvm1))
    assert again['changed'] is False, again
    assert mesh['vms'][1, 1001].ping(mesh['vms'][3, 1001].ip)


def test_check_mode_writes_nothing(lab, mesh):
    kvm2 = lab.hosts[1]
    before = db_state(kvm2)
    flows = kvm2.ovs.flows('OVSTunnel1001')
    result = run_module('gre_network', mesh_args(lab, kvm2, drop_peer=lab.hosts[0]),
                        check_mode=True, diff=True)
    assert result['changed'] and result['changes']['1001']['ports_removed'] == ['t1001-2-1']
    assert db_state(kvm2) == before and kvm2.ovs.flows('OVSTunnel1001') == flows


def test_mesh_comes_back_after_restarting_both_daemons(lab, mesh):
    vms = mesh['vms']
    for host in lab.hosts:
        host.ovs.restart()
        # The underlay bridge's netdev tap goes away with ovs-vswitchd; the host's network
        # configuration (here: the testbed) puts the address back, as ifupdown would.
        host.uplink_to_bridge('cloudbr0', 'eth0')
        for vm_key in KEYS:
            host.run('ip', 'link', 'set', vms[host.index, vm_key].port, 'up')
    for host in lab.hosts:
        for key in KEYS:
            for peer in lab.hosts:
                if peer is not host:
                    host.ovs.wait_ofport('t%d-%d-%d' % (key, host.host_id, peer.host_id))
    # Split horizon is in OVSDB (protected ports): no loop even before flows are back.
    deadline = time.time() + 20
    while ping_matrix(lab, vms) and time.time() < deadline:
        time.sleep(1)
    assert ping_matrix(lab, vms) == []
    test_broadcast_is_seen_once_per_host_and_does_not_loop(lab, mesh)
    # ovs-vswitchd forgot the flows: the module notices and puts them back, once.
    for host in lab.hosts:
        result = run_module('gre_network', mesh_args(lab, host))
        assert result['changed'] and not result['changes']['1001']['ports_added'], result
        assert run_module('gre_network', mesh_args(lab, host))['changed'] is False
    assert ping_matrix(lab, vms) == []


def test_bad_call_in_a_500_port_change_changes_nothing(lab, mesh):
    kvm1 = lab.hosts[0]
    before = db_state(kvm1)
    flows = kvm1.ovs.flows('OVSTunnel1001')
    peers = [dict(host_id=1000 + i, remote_ip='198.51.100.%d' % (i % 250 + 1) if i < 250
                  else '2001:db8::%x' % i) for i in range(500)]
    peers[250]['remote_ip'] = peers[3]['remote_ip']
    args = dict(host_id=1, datapath_type='netdev', db=kvm1.ovs.db, networks=[
        dict(key=1001, peers=mesh_args(lab, kvm1)['networks'][0]['peers']),
        dict(key=3001, peers=peers)])
    result = run_module('gre_network', args)
    assert result.get('failed') and result['msg'].startswith('networks[1].peers[250].remote_ip:')
    assert peers[3]['remote_ip'] in result['msg']
    assert db_state(kvm1) == before

    # A failure inside the transaction (a bridge named like an existing port) after 500 good
    # ports were planned: all or nothing.
    peers[250]['remote_ip'] = '2001:db8::ffff'
    vm_port = mesh['vms'][1, 1001].port
    args['networks'][1]['bridge'] = vm_port
    result = run_module('gre_network', args)
    assert result.get('failed') and 'changed nothing' in result['msg'], result
    assert db_state(kvm1) == before and kvm1.ovs.flows('OVSTunnel1001') == flows


def test_cloudstacks_literal_drops_cut_arp_and_are_replaced(lab, mesh):
    """Why the priority-1000 entries are not ``drop``: with CloudStack's literal flows a VM on
    another host never sees an ARP request. The module reports and replaces them."""
    kvm1, kvm2 = lab.hosts[0], lab.hosts[1]
    vms = mesh['vms']
    tunnel = 't1001-2-1'
    ofport = kvm2.ovs.wait_ofport(tunnel)
    for match in ('dl_dst=ff:ff:ff:ff:ff:ff', 'ip,nw_dst=224.0.0.0/24'):
        kvm2.ovs.ofctl('add-flow', 'OVSTunnel1001',
                       'priority=1000,in_port=%d,%s,actions=drop' % (ofport, match))
    # datapath flows cached from before the change would still deliver for a moment
    kvm2.ovs.appctl('revalidator/purge')
    # Both sides forget: an ARP request from the far VM (not dropped, it enters kvm1) would
    # teach the near one the address and let the ping through without any broadcast to kvm2.
    for vm in (vms[1, 1001], vms[2, 1001]):
        vm.run('ip', 'neigh', 'flush', 'all')
    assert not vms[1, 1001].ping(vms[2, 1001].ip, count=1, timeout=2)
    result = run_module('gre_network', mesh_args(lab, kvm2), diff=True)
    assert result['changed'] and not result['changes']['1001']['ports_added']
    assert result['changes']['1001']['flows_removed'] == 2
    drops = ['priority=1000,in_port=%d,dl_dst=ff:ff:ff:ff:ff:ff actions=drop' % ofport,
             'priority=1000,ip,in_port=%d,nw_dst=224.0.0.0/24 actions=drop' % ofport]
    before, after = result['diff']['before']['1001'], result['diff']['after']['1001']
    assert set(drops) <= set(before['flows']) and not set(drops) & set(after['flows'])
    # the guest remembers the failed ARP for a while; forget it, as a later retry would
    deadline = time.time() + 15
    while True:
        vms[1, 1001].run('ip', 'neigh', 'flush', 'all')
        if vms[1, 1001].ping(vms[2, 1001].ip) or time.time() > deadline:
            break
    assert vms[1, 1001].ping(vms[2, 1001].ip)
    assert run_module('gre_network', mesh_args(lab, kvm2))['changed'] is False
    assert kvm1.ovs.alive()


def test_long_cloudstack_names_work_and_flows_use_numbers(ovs_switch):
    """Port names over 15 characters: distinct ofports and flows by number, although OpenFlow
    shows them truncated (and two of them identically)."""
    ovs = ovs_switch.ovs
    peers = [dict(host_id=987654321, remote_ip='198.51.100.21'),
             dict(host_id=987654322, remote_ip='198.51.100.22'),
             dict(host_id=2, remote_ip='2001:db8::2')]
    args = dict(host_id=123456789, key=4294967295, bridge='br-longkey', peers=peers,
                datapath_type='netdev', db=ovs_switch.db)
    result = run_module('gre_network', args)
    assert result['changed'], result
    tunnels = result['networks'][0]['tunnels']
    names = sorted(t['name'] for t in tunnels)
    assert names == ['t4294967295-123456789-2', 't4294967295-123456789-987654321',
                     't4294967295-123456789-987654322']
    assert all(t['link_state'] == 'up' for t in tunnels), tunnels
    ofports = sorted(t['ofport'] for t in tunnels)
    assert len(set(ofports)) == 3 and all(p > 0 for p in ofports)
    flows = '\n'.join(ovs.flows('br-longkey'))
    for ofport in ofports:
        assert 'in_port=%d,dl_dst=ff:ff:ff:ff:ff:ff actions=NORMAL' % ofport in flows
    # OpenFlow's port descriptions cut names to 15 characters: two ports look the same there.
    show = ovs.ofctl('show', 'br-longkey')
    assert show.count('(t4294967295-123)') == 3, show
    assert run_module('gre_network', args)['changed'] is False
    # The default bridge name of such a key does not fit an interface name: refused up front.
    result = run_module('gre_network', dict(args, bridge=None, key=12345678))
    assert result.get('failed') and result['msg'].startswith('bridge:')
    assert 'OVSTunnel12345678' in result['msg']
    assert 'OVSTunnel12345678' not in ovs.vsctl('list-br')


def test_state_absent_removes_only_what_it_made(ovs_switch):
    """Issue 22 G: state=absent deleted the bridge whatever was on it - the agent's tunnels and
    a VM's port went with it - and the actions named only the bridge."""
    ovs = ovs_switch.ovs
    peers = [dict(host_id=2, remote_ip='198.51.100.12'), dict(host_id=3, remote_ip='198.51.100.13')]
    args = dict(host_id=1, key=1001, peers=peers, datapath_type='netdev', db=ovs_switch.db)
    assert run_module('gre_network', args)['changed']
    # CloudStack's agent adds a tunnel (ovstunnel.py create_tunnel), libvirt plugs a VM in
    ovs.vsctl('add-port', 'OVSTunnel1001', 't1001-1-9', '--', 'set', 'interface', 't1001-1-9',
              'type=gre', 'options:key=1001', 'options:remote_ip=198.51.100.19')
    ovs.vsctl('add-port', 'OVSTunnel1001', 'vnet0', '--', 'set', 'interface', 'vnet0',
              'type=internal')
    absent = dict(host_id=1, key=1001, state='absent', db=ovs_switch.db)
    checked = run_module('gre_network', absent, check_mode=True)
    result = run_module('gre_network', absent)
    assert checked['actions'] == result['actions'] == [
        'delete port t1001-1-2 from bridge OVSTunnel1001',
        'delete port t1001-1-3 from bridge OVSTunnel1001']
    assert bridge_ports(ovs_switch, 'OVSTunnel1001') == ['t1001-1-9', 'vnet0']
    change = result['changes']['1001']
    assert change['ports_removed'] == ['t1001-1-2', 't1001-1-3']
    assert [p['name'] for p in change['ports_left_alone']] == ['t1001-1-9', 'vnet0']
    warned = json.dumps(result.get('warnings'))
    assert 'kept bridge OVSTunnel1001' in warned and 'vnet0 (not a tunnel' in warned, warned
    assert 't1001-1-9 (tunnel made by CloudStack' in warned and 'remove_foreign=true' in warned
    # again: nothing of ours is left, nothing changes
    again = run_module('gre_network', absent)
    assert again['changed'] is False and again['actions'] == []
    # asked for explicitly: the bridge goes, every port named
    forced = run_module('gre_network', dict(absent, remove_foreign=True))
    assert forced['actions'] == ['delete bridge OVSTunnel1001 with its ports t1001-1-9, vnet0']
    assert 'OVSTunnel1001' not in ovs.vsctl('list-br').split()
    # without those ports, absent deletes the bridge with its tunnels, naming them
    assert run_module('gre_network', args)['changed']
    gone = run_module('gre_network', absent)
    assert gone['actions'] == ['delete bridge OVSTunnel1001 with its ports t1001-1-2, t1001-1-3']
    assert 'OVSTunnel1001' not in ovs.vsctl('list-br').split()
    # remove_foreign is for state=absent only
    bad = run_module('gre_network', dict(args, remove_foreign=True))
    assert bad.get('failed') and bad['msg'].startswith('remove_foreign: only state=absent')
