# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The cloudstack.ovs.dpdk role for real, over SSH, on a lab host (own network, mount and UTS
namespaces, OVS at the packaged paths) that starts with a plain ovs-vswitchd: the role reserves
2 MiB hugepages, mounts hugetlbfs, sets the OVS-DPDK keys, restarts ovs-vswitchd into the DPDK
build, writes the agent's keys - and a second run changes nothing.

Hugepages are global to the machine: the count from before the test is put back afterwards.
"""

import json
import os

import pytest
import yaml

from conftest import ansible, recap, run_module
from dpdk_env import NR_HUGEPAGES, PAGES, SOCKET_MEM, require_dpdk_binary
from testbed import Lab, wait_for
from testbed.ovs import dpdk_vswitchd_link

AGENT_PROPS = '/etc/cloudstack/agent/agent.properties'
HUGETLBFS = '/run/hugepages'         # inside the lab host (its own /run)
RESULT = '/run/dpdk-role-result.json'


def play(**role_vars):
    return [{
        'hosts': 'kvm_hosts',
        'gather_facts': False,
        'roles': [{'role': 'cloudstack.ovs.dpdk', 'vars': role_vars}],
        'post_tasks': [{
            'name': 'What the role found out',
            'ansible.builtin.copy': {
                'dest': RESULT, 'mode': '0644',
                'content': '{{ dict(restarted=dpdk_vswitchd_restarted, reboot=dpdk_reboot_required,'
                           ' capable=dpdk_cloudstack_capable, pmd=dpdk_pmd_cpu_mask,'
                           ' lcore=dpdk_lcore_mask) | to_json }}'},
        }],
    }]


@pytest.fixture(scope='module')
def dpdk_lab(tmp_path_factory):
    require_dpdk_binary()
    with open(NR_HUGEPAGES) as handle:
        previous = handle.read().strip()
    lab = Lab(str(tmp_path_factory.mktemp('dpdklab')), hosts=1).create(start_ovs=True)
    host = lab.hosts[0]
    try:
        yield lab, host
    finally:
        # ovs-vswitchd runs under --monitor: a clean exit stops both, so nothing restarts it.
        pid = host.run('cat', '/run/openvswitch/ovs-vswitchd.pid', check=False).stdout.strip()
        if pid:
            host.run('ovs-appctl', '-t', '/run/openvswitch/ovs-vswitchd.%s.ctl' % pid, 'exit',
                     check=False)
        lab.destroy()
        with open(NR_HUGEPAGES, 'w') as handle:
            handle.write(previous)


def run_play(lab, name, role_vars, *flags):
    path = os.path.join(lab.dir, name + '.yml')
    with open(path, 'w') as handle:
        yaml.safe_dump(play(**role_vars), handle, sort_keys=False)
    inventory = lab.write_inventory(os.path.join(lab.dir, 'inventory.yml'))
    return ansible('ansible-playbook', '-i', inventory, path, *flags, timeout=600)


def vswitchd_pid(host):
    return host.run('cat', '/run/openvswitch/ovs-vswitchd.pid').stdout.strip()


def test_role_makes_an_ovs_dpdk_host(dpdk_lab):
    lab, host = dpdk_lab
    link = dpdk_vswitchd_link(lab.dir)
    os.makedirs(os.path.dirname(host.path(AGENT_PROPS)), exist_ok=True)
    with open(host.path(AGENT_PROPS), 'w') as handle:
        handle.write('# set by the cloudstack_agent role on a real host\n'
                     'network.bridge.type=openvswitch\n')
    role_vars = dict(
        dpdk_hugepages=PAGES, dpdk_socket_mem=SOCKET_MEM,
        dpdk_lcore_cpus='0', dpdk_pmd_cpus='1',
        dpdk_extra='--file-prefix=csrole%d --no-pci' % os.getpid(),
        dpdk_vhost_sock_dir='vhu', dpdk_hugetlbfs_mount=HUGETLBFS,
        dpdk_restart='direct', dpdk_vswitchd_binary=link,
        dpdk_ovs_run_dir='/run/openvswitch')
    plain_pid = vswitchd_pid(host)
    assert host.ovs.get('Open_vSwitch', '.', 'dpdk_initialized') == 'false'

    # check mode: reports, writes nothing, restarts nothing
    proc = run_play(lab, 'check', role_vars, '--check')
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert host.ovs.get('Open_vSwitch', '.', 'other_config:dpdk-init') == ''
    assert vswitchd_pid(host) == plain_pid

    proc = run_play(lab, 'first', role_vars)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert recap(proc.stdout)['kvm1']['changed'] > 0
    with open(host.path(RESULT)) as handle:
        result = json.load(handle)
    assert result == dict(restarted=True, reboot=False, capable=True, pmd='0x2', lcore='0x1')
    ovs = host.ovs
    assert ovs.get('Open_vSwitch', '.', 'dpdk_initialized') == 'true'
    assert vswitchd_pid(host) != plain_pid
    assert ovs.get('Open_vSwitch', '.', 'other_config:pmd-cpu-mask') == '"0x2"'
    assert ovs.get('Open_vSwitch', '.', 'other_config:dpdk-lcore-mask') == '"0x1"'
    assert ovs.get('Open_vSwitch', '.', 'other_config:dpdk-socket-mem') == '"%s"' % SOCKET_MEM
    assert ovs.get('Open_vSwitch', '.', 'other_config:vhost-sock-dir') == 'vhu'
    with open(NR_HUGEPAGES) as handle:
        assert int(handle.read()) == PAGES
    assert 'hugetlbfs' in host.run('findmnt', '-n', '-M', HUGETLBFS).stdout
    with open(host.path('/etc/sysctl.d/60-cloudstack-dpdk-hugepages.conf')) as handle:
        assert 'vm.nr_hugepages = %d' % PAGES in handle.read()
    with open(host.path('/etc/fstab')) as handle:
        assert 'nodev %s hugetlbfs pagesize=2M 0 0' % HUGETLBFS in handle.read()
    with open(host.path(AGENT_PROPS)) as handle:
        props = handle.read()
    assert 'openvswitch.dpdk.enabled=true' in props
    assert 'openvswitch.dpdk.ovs.path=/run/openvswitch/vhu' in props
    assert props.startswith('# set by the cloudstack_agent role')

    # the second run changes nothing and leaves ovs-vswitchd alone
    dpdk_pid = vswitchd_pid(host)
    proc = run_play(lab, 'second', role_vars)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert recap(proc.stdout)['kvm1']['changed'] == 1, proc.stdout[-3000:]   # only the post task's file stays
    assert vswitchd_pid(host) == dpdk_pid

    # a vhost-user port where the agent will look for it (openvswitch.dpdk.ovs.path)
    bridge = run_module('ovs_bridge', dict(name='cloudbr1', datapath_type='netdev', db=ovs.db))
    assert not bridge.get('failed'), bridge
    port = run_module('dpdk_port', dict(bridge='cloudbr1', ovs_path='/run/openvswitch/vhu',
                                        db=ovs.db))
    assert port['port'] == 'csdpdk-1' and port['socket_path'] == '/run/openvswitch/vhu/csdpdk-1'
    wait_for(lambda: os.path.exists(host.path(port['socket_path'])), timeout=20,
             what='the vhost-user socket inside the host')


def test_bad_cpu_list_fails_and_changes_nothing(dpdk_lab):
    lab, host = dpdk_lab
    before = host.ovs.get('Open_vSwitch', '.', 'other_config')
    # CPU 4096 is online nowhere
    proc = run_play(lab, 'badcpu', dict(dpdk_pmd_cpus='1,4090-4096', dpdk_restart='never',
                                        dpdk_hugetlbfs_mount=HUGETLBFS))
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert 'dpdk_pmd_cpus: CPU 4090-4096 not online on this host (online: ' in out, out[-3000:]
    assert "(got '1,4090-4096')" in out
    assert host.ovs.get('Open_vSwitch', '.', 'other_config') == before


def test_1g_pages_go_on_the_grub_command_line(dpdk_lab):
    """Debian's path for 1G pages: GRUB_CMDLINE_LINUX in /etc/default/grub, the update command,
    and dpdk_reboot_required (the running kernel lacks the arguments). update-grub itself is
    replaced by a marker command: the lab host shares this machine's /boot."""
    lab, host = dpdk_lab
    grub = host.path('/etc/default/grub.dpdktest')
    with open(grub, 'w') as handle:
        handle.write('GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet"\n'
                     'GRUB_CMDLINE_LINUX="console=ttyS0 hugepages=16"\n')
    tasks = [{
        'hosts': 'kvm_hosts', 'gather_facts': True, 'gather_subset': ['!all'],
        'tasks': [
            {'ansible.builtin.include_role': {'name': 'cloudstack.ovs.dpdk',
                                              'tasks_from': 'kernel-cmdline'},
             'vars': {'dpdk_hugepages': 4, 'dpdk_grub_defaults': '/etc/default/grub.dpdktest',
                      'dpdk_update_grub_command': ['touch', '/run/update-grub-ran']}},
            {'ansible.builtin.copy': {'dest': RESULT, 'mode': '0644',
                                      'content': '{{ dpdk_reboot_required | to_json }}'}},
        ]}]
    path = os.path.join(lab.dir, 'grub.yml')
    with open(path, 'w') as handle:
        yaml.safe_dump(tasks, handle, sort_keys=False)
    inventory = lab.write_inventory(os.path.join(lab.dir, 'inventory.yml'))

    proc = ansible('ansible-playbook', '-i', inventory, path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    with open(grub) as handle:
        text = handle.read()
    assert 'GRUB_CMDLINE_LINUX="console=ttyS0 default_hugepagesz=1G hugepagesz=1G hugepages=4"\n' in text
    assert 'GRUB_CMDLINE_LINUX_DEFAULT="quiet"' in text
    assert os.path.exists(host.path('/run/update-grub-ran'))
    with open(host.path(RESULT)) as handle:
        assert json.load(handle) is True          # this kernel was not booted with them

    os.unlink(host.path('/run/update-grub-ran'))
    proc = ansible('ansible-playbook', '-i', inventory, path)
    assert proc.returncode == 0
    assert not os.path.exists(host.path('/run/update-grub-ran'))    # nothing to regenerate
    with open(grub) as handle:
        assert handle.read() == text
