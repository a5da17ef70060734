# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The cloudbr role on lab hosts over SSH: the address moves onto the OVS bridge and SSH lives."""

import json
import subprocess

from conftest import ansible, recap

PLAYBOOK = 'tests/system/playbooks/cloudbr.yml'
INTERFACES = (
    'auto lo\niface lo inet loopback\n\n'
    'auto eth0\niface eth0 inet static\n    address 192.0.2.12/24\n    gateway 192.0.2.1\n\n'
    'allow-hotplug eth1\niface eth1 inet manual\n\n'
    'source /etc/network/interfaces.d/*\n')


def play(inventory, *args):
    proc = ansible('ansible-playbook', '-i', inventory, PLAYBOOK, *args)
    return proc, recap(proc.stdout)


def addresses(host, dev):
    out = json.loads(host.run('ip', '-j', 'addr', 'show', 'dev', dev, check=False).stdout or '[]')
    return [a['local'] for link in out for a in link['addr_info'] if a['scope'] == 'global']


def test_check_mode_reports_the_move_and_changes_nothing(lab, lab_inventory):
    proc, counts = play(lab_inventory, '--check', '--limit', 'kvm1')
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert counts['kvm1']['changed'] > 0
    kvm1 = lab.hosts[0]
    assert addresses(kvm1, 'eth0') == [kvm1.mgmt_ip]
    assert 'cloudbr0' not in kvm1.ovs.vsctl('list-br')
    assert not kvm1.run('test', '-e', '/etc/network/interfaces.d/cloudstack-ovs-cloudbr0',
                        check=False).returncode == 0


def test_move_keeps_ssh_alive_persists_and_is_idempotent(lab, lab_inventory):
    kvm1, kvm2 = lab.hosts[0], lab.hosts[1]
    # kvm2 comes with its NICs in the main ifupdown file, as a Debian installer leaves them
    kvm2.sh('mkdir -p /etc/network && printf "%s" > /etc/network/interfaces' % INTERFACES)
    # An SSH session that is open while the address moves must live through it.
    session = subprocess.Popen(
        ['ssh'] + lab.ssh_args() + ['root@' + kvm1.mgmt_ip,
                                    'for i in $(seq 1 40); do echo tick; sleep 0.25; done; echo alive'],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc, counts = play(lab_inventory, '--limit', 'kvm1,kvm2')
    out, err = session.communicate(timeout=60)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert session.returncode == 0 and out.strip().endswith('alive'), err
    # the play's last task ran over the same connection after both moves
    assert 'Still reachable after the move' in proc.stdout
    for host in (kvm1, kvm2):
        assert counts[host.name]['changed'] > 0 and counts[host.name]['failed'] == 0
        assert addresses(host, 'cloudbr0') == [host.mgmt_ip] and addresses(host, 'eth0') == []
        assert addresses(host, 'cloudbr1') == [host.guest_ip] and addresses(host, 'eth1') == []
        assert 'default via 192.0.2.1 dev cloudbr0' in host.run('ip', 'route').stdout
        assert host.ovs.vsctl('port-to-br', 'eth0').strip() == 'cloudbr0'
        assert host.ovs.vsctl('port-to-br', 'eth1').strip() == 'cloudbr1'
        mac = host.nic_mac('eth0')
        assert host.ovs.get('Bridge', 'cloudbr0', 'other_config:hwaddr').strip('"') == mac
        stanza = host.run('cat', '/etc/network/interfaces.d/cloudstack-ovs-cloudbr0').stdout
        assert 'iface cloudbr0 inet static' in stanza and 'address %s/24' % host.mgmt_ip in stanza
        assert 'gateway 192.0.2.1' in stanza and 'ovs_ports eth0' in stanza
        assert 'ovs_type OVSPort' in stanza and 'datapath_type=netdev' in stanza
        # the host still talks to its neighbours through the bridges
        assert lab.ssh(host, 'ping -c 1 -W 2 198.51.100.1 && ping -c 1 -W 2 192.0.2.1',
                       check=False).returncode == 0

    main = kvm2.run('cat', '/etc/network/interfaces').stdout
    assert '# iface eth0 inet static  # moved to OVS bridge cloudbr0 by cloudstack.ovs\n' in main
    assert '#     address 192.0.2.12/24\n' in main and main.startswith('auto lo\niface lo inet loopback\n')
    assert '# iface eth1 inet manual  # moved to OVS bridge cloudbr1 by cloudstack.ovs\n' in main
    assert main.count('source /etc/network/interfaces.d/*') == 1

    proc, counts = play(lab_inventory, '--limit', 'kvm1,kvm2')
    assert proc.returncode == 0
    assert kvm2.run('cat', '/etc/network/interfaces').stdout == main
    assert counts['kvm1']['changed'] == 0 and counts['kvm2']['changed'] == 0, proc.stdout[-3000:]


def test_move_is_undone_when_the_check_address_does_not_answer(lab, lab_inventory):
    kvm3 = lab.hosts[2]
    proc, counts = play(lab_inventory, '--limit', 'kvm3', '-e', json.dumps(dict(
        cloudbr_bridges=[dict(name='cloudbr1', uplink='eth1')],
        cloudbr_check_address='198.51.100.99', cloudbr_move_timeout=3)))
    assert proc.returncode != 0 and counts['kvm3']['failed'] == 1
    assert 'does not answer through cloudbr1: undoing the move' in proc.stdout
    assert addresses(kvm3, 'eth1') == [kvm3.guest_ip] and addresses(kvm3, 'cloudbr1') == []
    assert kvm3.ovs.vsctl('--if-exists', 'port-to-br', 'eth1', check=False).strip() == ''
    assert lab.ssh(kvm3, 'hostname').stdout.strip() == 'kvm3'


def test_bad_bridge_definition_fails_before_any_change(lab, lab_inventory):
    kvm3 = lab.hosts[2]
    proc, _counts = play(lab_inventory, '--limit', 'kvm3', '-e', json.dumps(dict(
        cloudbr_bridges=[dict(name='cloudbr0-way-too-long', uplink='eth0')])))
    assert proc.returncode != 0
    assert 'cloudbr_bridges: the entry' in proc.stdout and 'cloudbr0-way-too-long' in proc.stdout
    proc, _counts = play(lab_inventory, '--limit', 'kvm3', '-e', json.dumps(dict(
        cloudbr_bridges=[dict(name='cloudbr0', uplink='nic9')])))
    assert proc.returncode != 0 and 'uplink nic9 of cloudbr0 is not an interface' in proc.stdout
    assert addresses(kvm3, 'eth0') == [kvm3.mgmt_ip]
