# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""kvm_host.yml on ONE bare lab host: a Debian 12 root of its own with python3 and sshd only
(tests/testbed/rootfs.py), reached over SSH, its modules run by its own /usr/bin/python3.

kvm_host.yml installs Open vSwitch (the DPDK build: this host is a DPDK host), the Python
libraries the modules import (Debian 12's python3-ovsdbapp 2.1 and python3-openvswitch) and
libvirt's bindings (openvswitch_python_libvirt), from Debian's mirror through the lab's package
proxy. Then gre_mesh.yml, and dpdk_port, agent_properties and vm_extraconfig run on the host. A
second run changes nothing. With a library the modules import moved away, the run fails naming
the library, its package and the host, and changes nothing.

vm_extraconfig runs against libvirt's built-in test driver (``test:///default``) inside the
host: the module, its import of libvirt and its reading and planning of a domain definition run
on the host's Python without a libvirtd there (the private libvirtd of test_vm_extraconfig.py
runs as another user on the machine, outside the host's root). The test driver's state lives in
one process, so that task runs in check mode: it reports the changes it would make.
"""

import os
import sys

import pytest
import yaml

from conftest import ansible, recap
from testbed import Lab
from testbed.lab import HOST_PYTHON

NR_HUGEPAGES = '/proc/sys/vm/nr_hugepages'
SEED = ('dpdk-hugepages%3A%0A%3CmemoryBacking%3E%0A%20%20%20%3Chugepages%3E%0A%20%20%20%20%3C%2F'
        'hugepages%3E%0A%3C%2FmemoryBacking%3E%0A')
DIST = '/usr/lib/python3/dist-packages'

MODULES_PLAY = [{
    'name': 'The collection\'s modules on the bare host, with its own Python',
    'hosts': 'kvm_hosts',
    'gather_facts': False,
    'tasks': [
        {'name': 'A vhost-user port', 'cloudstack.ovs.dpdk_port': {
            'bridge': 'cloudbr1', 'name': 'csdpdk-1', 'mode': 'server',
            'ovs_path': '/run/openvswitch/vhu'}},
        {'name': 'agent.properties', 'cloudstack.ovs.agent_properties': {
            'properties': {'network.bridge.type': 'openvswitch',
                           'guest.network.device': 'cloudbr1'}}},
        {'name': 'A domain\'s extra configuration (libvirt test driver, check mode)',
         'cloudstack.ovs.vm_extraconfig': {'uri': 'test:///default', 'domain': 'test',
                                           'extraconfig': SEED},
         # The test driver starts afresh in every process: each run plans the same change,
         # which the next task checks; it is not counted as a change of the host.
         'check_mode': True, 'register': 'extraconfig', 'changed_when': False},
        {'name': 'vm_extraconfig planned the change', 'ansible.builtin.assert': {
            'that': ["extraconfig.actions == ['add <memoryBacking> to domain root']",
                     'extraconfig.restart_required']}},
    ],
}]


def host_vars(prefix):
    return dict(
        openvswitch_kernel_module=False, openvswitch_python_libvirt=True,
        cloudbr_datapath_type='netdev',
        cloudbr_bridges=[dict(name='cloudbr0', uplink='eth0'), dict(name='cloudbr1', uplink='eth1')],
        cloudstack_gre_networks=[1001, 1002], cloudstack_gre_datapath_type='netdev',
        cloudstack_dpdk_enabled=True, dpdk_hugepages=512, dpdk_socket_mem='256',
        dpdk_lcore_cpus='0', dpdk_pmd_cpus='1', dpdk_extra='--file-prefix=%s --no-pci' % prefix,
        dpdk_vhost_sock_dir='vhu', dpdk_hugetlbfs_mount='/run/hugepages',
        dpdk_ovs_run_dir='/run/openvswitch', dpdk_restart='direct')


@pytest.fixture(scope='module')
def bare(tmp_path_factory):
    if not os.path.exists(NR_HUGEPAGES):
        pytest.skip('no hugepages on this machine (DPDK)')
    with open(NR_HUGEPAGES) as handle:
        previous = handle.read().strip()
    lab = Lab(str(tmp_path_factory.mktemp('bare')), hosts=1, bare=True).create()
    host = lab.hosts[0]
    inventory = lab.write_inventory(os.path.join(lab.dir, 'inventory.yml'),
                                    {host.name: host_vars(lab.prefix)})
    modules = os.path.join(lab.dir, 'modules.yml')
    with open(modules, 'w') as handle:
        yaml.safe_dump(MODULES_PLAY, handle, sort_keys=False)
    try:
        yield lab, host, inventory, modules
    finally:
        lab.destroy()
        with open(NR_HUGEPAGES, 'w') as handle:
            handle.write(previous)


def playbook(inventory, path, *extra):
    return ansible('ansible-playbook', '-i', inventory, path, *extra, timeout=900)


def host_python(host, code):
    return host.run(HOST_PYTHON, '-c', code, check=False)


def test_the_host_starts_bare(bare):
    lab, host, inventory, _m = bare
    assert lab.inventory()['all']['vars']['ansible_python_interpreter'] == '/usr/bin/python3'
    assert host.run('test', '-e', '/usr/sbin/ovs-vswitchd', check=False).returncode != 0
    assert host_python(host, 'import ovsdbapp').returncode != 0
    # The controller's interpreter is not even there: the host has a root of its own.
    assert host.run('test', '-e', sys.executable, check=False).returncode != 0


def test_kvm_host_then_gre_mesh_and_the_modules(bare):
    lab, host, inventory, modules = bare
    for path in ('playbooks/kvm_host.yml', 'playbooks/gre_mesh.yml', modules):
        proc = playbook(inventory, path)
        assert proc.returncode == 0, path + '\n' + proc.stdout[-5000:] + proc.stderr[-2000:]
    installed = host.run('dpkg-query', '-W', '-f', '${Package} ${Version}\n').stdout
    for name in ('openvswitch-switch-dpdk', 'python3-ovsdbapp', 'python3-openvswitch',
                 'python3-libvirt', 'iproute2'):
        assert '\n%s ' % name in '\n' + installed, name
    versions = host_python(host, 'import importlib.metadata as m; print(m.version("ovsdbapp"))')
    assert versions.stdout.strip().startswith('2.1'), versions.stdout + versions.stderr
    assert host.ovs.get('Open_vSwitch', '.', 'dpdk_initialized') == 'true'
    assert host.ovs.get('Interface', 'csdpdk-1', 'type') == 'dpdkvhostuser'
    assert 'OVSTunnel1001' in host.ovs.vsctl('list-br').split()
    assert lab.proxy_stats().get('DENY', (0, 0))[0] == 0


def test_second_run_changes_nothing(bare):
    _lab, host, inventory, modules = bare
    for path in ('playbooks/kvm_host.yml', 'playbooks/gre_mesh.yml', modules):
        proc = playbook(inventory, path)
        assert proc.returncode == 0, proc.stdout[-4000:]
        assert recap(proc.stdout)[host.name]['changed'] == 0, path + '\n' + proc.stdout[-6000:]


@pytest.mark.parametrize('library,package', [('ovsdbapp', 'python3-ovsdbapp'),
                                             ('ovs', 'python3-openvswitch')])
def test_a_missing_library_is_named_with_its_package_and_host(bare, library, package):
    _lab, host, inventory, _m = bare
    moved = '/root/%s.moved' % library
    host.run('mv', '%s/%s' % (DIST, library), moved)
    try:
        # The role installs nothing here (dpkg has the package): the check names what is missing.
        proc = playbook(inventory, 'playbooks/kvm_host.yml')
        out = proc.stdout
        assert proc.returncode != 0
        assert recap(out)[host.name]['changed'] == 0 and recap(out)[host.name]['failed'] == 1
        assert '%s: the Python library %s that' % (host.name, library) in out, out[-4000:]
        assert 'Install %s' % package in out
        assert 'does not answer' not in out
        mesh = playbook(inventory, 'playbooks/gre_mesh.yml')
        assert mesh.returncode != 0
        assert ("Failed to import the required Python library (%s) on %s's Python %s"
                % (library, host.name, HOST_PYTHON)) in mesh.stdout, mesh.stdout[-4000:]
        assert recap(mesh.stdout)[host.name]['changed'] == 0
    finally:
        host.run('mv', moved, '%s/%s' % (DIST, library))
    proc = playbook(inventory, 'playbooks/kvm_host.yml')
    assert proc.returncode == 0 and recap(proc.stdout)[host.name]['changed'] == 0
