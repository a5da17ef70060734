# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""ovs_bridge, ovs_config and ovs_info against a real ovsdb-server/ovs-vswitchd, through Ansible."""

import json
import time

from conftest import ansible, run_module


def adhoc(module, args, *flags):
    """``ansible localhost -m cloudstack.ovs.<module> -a <json> -o``: (result, exit code)."""
    proc = ansible('ansible', 'localhost', '-c', 'local', '-m', 'cloudstack.ovs.' + module,
                   '-a', json.dumps(args), '-o', *flags)
    # one line per host: "localhost | SUCCESS => {...}" (diffs, if any, come before it)
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith('localhost | ')][-1]
    return json.loads(line.split(' => ', 1)[1]), proc.returncode


def test_issue_acceptance_through_ansible(ovs_switch):
    """The foundation's "done means", run with the ``ansible`` command as a user would."""
    args = dict(name='br-test', datapath_type='netdev', db=ovs_switch.db)
    result, rc = adhoc('ovs_bridge', args)
    assert rc == 0 and result['changed'] is True
    assert ovs_switch.ovs.get('Bridge', 'br-test', 'datapath_type') == 'netdev'

    result, rc = adhoc('ovs_bridge', args)
    assert rc == 0 and result['changed'] is False

    result, rc = adhoc('ovs_bridge', dict(args, fail_mode='secure'), '--check')
    assert rc == 0 and result['changed'] is True
    assert result['actions'] == ['set Bridge br-test fail_mode: secure']
    assert ovs_switch.ovs.get('Bridge', 'br-test', 'fail_mode') == '[]'
    # the diff Ansible shows with --diff (the callback consumes it; ask the module directly)
    result = run_module('ovs_bridge', dict(args, fail_mode='secure'), check_mode=True, diff=True)
    assert result['diff']['before']['fail_mode'] is None
    assert result['diff']['after']['fail_mode'] == 'secure'
    assert ovs_switch.ovs.get('Bridge', 'br-test', 'fail_mode') == '[]'

    result, rc = adhoc('ovs_bridge', dict(args, name='a' * 20))
    assert rc != 0
    assert result['msg'].startswith('name:') and 'a' * 20 in result['msg']
    assert 'aaaa' not in ovs_switch.ovs.vsctl('list-br')


def test_bridge_drift_is_repaired_and_purge(ovs_switch):
    db = ovs_switch.db
    args = dict(name='cloudbr1', datapath_type='netdev', fail_mode='standalone', db=db,
                other_config={'mac-aging-time': 300}, external_ids={'owner': 'cs'})
    assert run_module('ovs_bridge', args)['changed']
    ovs_switch.ovs.vsctl('set', 'Bridge', 'cloudbr1', 'other_config:mac-aging-time=99',
                         'external_ids:foreign=1', 'fail_mode=secure')
    result = run_module('ovs_bridge', args, diff=True)
    assert result['changed']
    assert sorted(result['actions']) == sorted([
        'set Bridge cloudbr1 fail_mode: standalone',
        'set Bridge cloudbr1 other_config: mac-aging-time=300'])
    assert ovs_switch.ovs.get('Bridge', 'cloudbr1', 'other_config:mac-aging-time') == '"300"'
    # keys not named are left alone ...
    assert ovs_switch.ovs.get('Bridge', 'cloudbr1', 'external_ids:foreign') == '"1"'
    # ... unless purged
    result = run_module('ovs_bridge', dict(args, purge_external_ids=True))
    assert result['changed']
    assert 'foreign' not in ovs_switch.ovs.get('Bridge', 'cloudbr1', 'external_ids')
    assert run_module('ovs_bridge', dict(args, purge_external_ids=True))['changed'] is False
    assert run_module('ovs_bridge', dict(name='cloudbr1', state='absent', db=db))['changed']
    assert 'cloudbr1' not in ovs_switch.ovs.vsctl('list-br')
    assert run_module('ovs_bridge', dict(name='cloudbr1', state='absent', db=db))['changed'] is False


def test_bad_parameters_change_nothing(ovs_switch):
    db = ovs_switch.db
    before = ovs_switch.ovs.vsctl('show')
    for bad, field in ((dict(name='br/0'), 'name'), (dict(name='br 0'), 'name'),
                       (dict(name='br0', datapath_type='dpdk'), 'datapath_type'),
                       (dict(name='br0', db='http://x'), 'db')):
        result = run_module('ovs_bridge', dict(dict(db=db), **bad))
        assert result.get('failed'), bad
        assert field in result['msg'], result['msg']
    assert ovs_switch.ovs.vsctl('show') == before


def test_unreachable_database_fails_within_timeout(tmp_path):
    started = time.monotonic()
    result = run_module('ovs_info', dict(db='unix:%s/none.sock' % tmp_path, timeout=2))
    assert result['failed'] and 'none.sock' in result['msg'] and 'db:' in result['msg']
    result = run_module('ovs_info', dict(db='tcp:192.0.2.250:6640', timeout=1))
    assert result['failed'] and '192.0.2.250' in result['msg']
    assert time.monotonic() - started < 30


def test_ovs_config_and_info(ovs_switch):
    db = ovs_switch.db
    wanted = {'vlan-limit': 2, 'max-idle': 20000}
    result = run_module('ovs_config', dict(db=db, other_config=wanted), diff=True)
    assert result['changed']
    assert ovs_switch.ovs.get('Open_vSwitch', '.', 'other_config:vlan-limit') == '"2"'
    assert run_module('ovs_config', dict(db=db, other_config=wanted))['changed'] is False
    check = run_module('ovs_config', dict(db=db, other_config={'vlan-limit': 3}), check_mode=True)
    assert check['changed']
    assert ovs_switch.ovs.get('Open_vSwitch', '.', 'other_config:vlan-limit') == '"2"'
    assert run_module('ovs_config', dict(db=db, other_config={'max-idle': None}))['changed']

    ovs_switch.ovs.vsctl('add-br', 'br0', '--', 'set', 'Bridge', 'br0', 'datapath_type=netdev',
                         '--', 'add-port', 'br0', 't1', '--', 'set', 'Interface', 't1', 'type=gre',
                         'options:remote_ip=192.0.2.12', 'options:key=1001')
    ovs_switch.ovs.wait_ofport('t1')
    info = run_module('ovs_info', dict(db=db), check_mode=True)
    assert info['changed'] is False
    assert info['ovs_version'].startswith('3.')
    assert 'netdev' in info['datapath_types'] and 'gre' in info['iface_types']
    assert info['dpdk_initialized'] is False
    bridge = [b for b in info['bridges'] if b['name'] == 'br0'][0]
    assert bridge['datapath_type'] == 'netdev'
    assert [p['name'] for p in bridge['ports']] == ['br0', 't1']
    iface = bridge['ports'][1]['interfaces'][0]
    assert iface['type'] == 'gre' and iface['options'] == {'remote_ip': '192.0.2.12', 'key': '1001'}
    assert iface['ofport'] > 0
    assert [t['name'] for t in info['tunnels']] == ['t1']


def test_lab_hosts_are_reachable_over_ssh(lab, lab_inventory):
    """Every lab host answers Ansible over SSH and has its own /etc, /run and OVS."""
    proc = ansible('ansible', '-i', lab_inventory, 'kvm_hosts', '-m', 'ansible.builtin.setup',
                   '-a', 'gather_subset=!all,network', '-o')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for host in lab.hosts:
        assert '%s | SUCCESS' % host.name in proc.stdout
        assert host.mgmt_ip in proc.stdout
    proc = ansible('ansible', '-i', lab_inventory, 'kvm_hosts', '-m', 'cloudstack.ovs.ovs_info',
                   '-o')
    assert proc.returncode == 0 and proc.stdout.count('"ovs_version": "3.') == 3, proc.stdout
    # each host's /etc is its own: a file written on kvm1 is not on kvm2 nor on this machine
    lab.ssh(lab.hosts[0], 'mkdir -p /etc/cloudstack/agent && echo kvm1 > /etc/cloudstack/agent/x')
    assert lab.ssh(lab.hosts[1], 'test -e /etc/cloudstack/agent/x', check=False).returncode != 0
    assert lab.ssh(lab.hosts[0], 'cat /etc/cloudstack/agent/x').stdout.strip() == 'kvm1'
    assert lab.ssh(lab.hosts[2], 'hostname').stdout.strip() == 'kvm3'
    # with the address moved onto an OVS bridge (as GRE endpoints need), SSH still reaches it
    lab.hosts[2].uplink_to_bridge('cloudbr0', 'eth0')
    assert lab.ssh(lab.hosts[2], 'ip -br addr show cloudbr0', timeout=30).stdout.split()[2] == \
        lab.hosts[2].mgmt_ip + '/24'
