# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The host-preparation roles in check mode against localhost, with facts overridden.

EL hosts cannot be reached from here (no EL package mirror): their variable selection is
tested by faking the facts (set_fact cacheable: true becomes ansible_facts). Nothing here
changes the machine: every play runs with --check, sysfs and /etc paths point into a fresh
temporary directory, and the only file written (check_mode: false) is the JSON result in it.
"""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LINK = os.path.join(ROOT, '.build', 'link')
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')


def run_play(workdir, tasks, check=True, extra=()):
    """Run one play of ``tasks`` (YAML text, indented 4) on localhost; return (rc, output, result).
    ``result`` is what the play wrote to ``{{ out }}`` (JSON) or None."""
    out = os.path.join(workdir, 'out.json')
    if os.path.exists(out):
        os.unlink(out)
    play = os.path.join(workdir, 'play.yml')
    with open(play, 'w') as handle:
        handle.write('- hosts: localhost\n  gather_facts: false\n  tasks:\n' + tasks)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=LINK, ANSIBLE_NOCOLOR='1',
               ANSIBLE_RETRY_FILES_ENABLED='0', ANSIBLE_LOCAL_TEMP=os.path.join(workdir, 'tmp'))
    cmd = [PLAYBOOK, '-i', 'localhost,', '-c', 'local',
           '-e', 'ansible_python_interpreter=%s' % sys.executable, '-e', 'out=%s' % out,
           '-e', 'work=%s' % workdir, play] + list(extra)
    if check:
        cmd.append('--check')
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=300, check=False)
    result = None
    if os.path.exists(out):
        with open(out) as handle:
            result = json.load(handle)
    return proc.returncode, proc.stdout.decode(), result


def fake_facts(**facts):
    lines = ['    - name: Fake the facts\n      ansible.builtin.set_fact:\n']
    for key, value in facts.items():
        lines.append('        %s: %s\n' % (key, json.dumps(value)))
    lines.append('        cacheable: true\n')
    return ''.join(lines)


WRITE_OUT = '''    - name: Write what the role chose
      ansible.builtin.copy:
        content: "{{ %s | to_json }}"
        dest: "{{ out }}"
        mode: "0600"
      check_mode: false
'''

OVS_CHOICE = WRITE_OUT % ("dict(packages=openvswitch_selected_packages, "
                          "repo=openvswitch_selected_repo_packages, service=openvswitch_service, "
                          "systemd=openvswitch_use_systemd)")


@pytest.mark.parametrize('family,major,dpdk,packages,repo,service', [
    ('RedHat', '8', False, ['openvswitch3.1', 'network-scripts-openvswitch3.1'],
     ['centos-release-nfv-openvswitch'], 'openvswitch'),
    ('RedHat', '9', False, ['openvswitch3.1', 'NetworkManager-ovs'],
     ['centos-release-nfv-openvswitch'], 'openvswitch'),
    ('RedHat', '9', True, ['openvswitch3.1', 'NetworkManager-ovs'],
     ['centos-release-nfv-openvswitch'], 'openvswitch'),
    ('RedHat', '10', False, ['openvswitch3.1', 'NetworkManager-ovs'],
     ['centos-release-nfv-openvswitch'], 'openvswitch'),
    ('Debian', '12', False, ['openvswitch-switch'], [], 'openvswitch-switch'),
    ('Debian', '12', True, ['openvswitch-switch-dpdk', 'librte-mempool-ring23'], [],
     'openvswitch-switch'),
    ('Debian', '24', True, ['openvswitch-switch-dpdk'], [], 'openvswitch-switch'),
])
def test_openvswitch_variable_selection(workdir, family, major, dpdk, packages, repo, service):
    tasks = fake_facts(os_family=family, distribution_major_version=major, service_mgr='systemd',
                       pkg_mgr='dnf' if family == 'RedHat' else 'apt')
    tasks += '''    - name: Run the role without installing or starting
      ansible.builtin.include_role:
        name: cloudstack.ovs.openvswitch
      vars:
        openvswitch_install: false
        openvswitch_start: false
        openvswitch_dpdk: %s
''' % ('true' if dpdk else 'false')
    rc, output, result = run_play(workdir, tasks + OVS_CHOICE)
    assert rc == 0, output
    # /run/systemd/system does not exist here: service_mgr alone does not make it systemd
    assert result == dict(packages=packages, repo=repo, service=service,
                          systemd=os.path.isdir('/run/systemd/system'))


@pytest.mark.parametrize('family,major,source,packages', [
    ('Debian', '12', 'packages', ['python3-ovsdbapp', 'python3-openvswitch', 'python3-libvirt']),
    ('Debian', '24', 'packages', ['python3-ovsdbapp', 'python3-openvswitch', 'python3-libvirt']),
    ('Debian', '22', 'venv', ['python3-venv', 'python3-pip', 'python3-libvirt']),
    ('RedHat', '9', 'venv', ['python3', 'python3-pip', 'python3-libvirt']),
    ('RedHat', '8', 'venv', ['python3.12', 'python3.12-pip', 'libvirt-devel', 'gcc',
                             'python3.12-devel', 'pkgconf-pkg-config']),
])
def test_openvswitch_python_libraries_per_os(workdir, family, major, source, packages):
    """Where the modules' Python libraries come from, per OS (docs/host-requirements.md), in
    check mode: OS packages, or a virtual environment with what it is made from."""
    tasks = fake_facts(os_family=family, distribution_major_version=major, service_mgr='systemd',
                       pkg_mgr='dnf' if family == 'RedHat' else 'apt')
    tasks += '''    - name: Run the role for the Python libraries only
      ansible.builtin.include_role:
        name: cloudstack.ovs.openvswitch
      vars:
        openvswitch_install: false
        openvswitch_start: false
        openvswitch_python_libs: true
        openvswitch_python_libvirt: true
        openvswitch_python_venv: "{{ work }}/venv"
'''
    rc, output, result = run_play(workdir, tasks + WRITE_OUT % (
        "dict(source=openvswitch_python_from, packages=openvswitch_python_os_packages "
        "if openvswitch_python_from == 'packages' else openvswitch_default_python_venv_packages "
        "+ openvswitch_default_python_libvirt_packages)"))
    assert rc == 0, output
    assert result == dict(source=source, packages=packages)
    assert not os.path.exists(os.path.join(workdir, 'venv'))   # check mode made nothing


def test_openvswitch_overrides_win(workdir):
    tasks = fake_facts(os_family='RedHat', distribution_major_version='9', service_mgr='systemd',
                       pkg_mgr='dnf')
    tasks += '''    - name: Run the role with own package and repository choices
      ansible.builtin.include_role:
        name: cloudstack.ovs.openvswitch
      vars:
        openvswitch_install: false
        openvswitch_start: false
        openvswitch_packages: [openvswitch3.3]
        openvswitch_el_repo_packages: [none]
'''
    rc, output, result = run_play(workdir, tasks + OVS_CHOICE)
    assert rc == 0, output
    assert result['packages'] == ['openvswitch3.3'] and result['repo'] == []


def test_openvswitch_debian_check_mode_install_and_start_path(workdir):
    """The Debian install tasks (apt, update-alternatives) and the ovs-ctl start path on this
    Debian machine, in check mode: nothing is installed or started."""
    tasks = '''    - name: Run the whole role in check mode
      ansible.builtin.include_role:
        name: cloudstack.ovs.openvswitch
      vars:
        openvswitch_dpdk: true
        openvswitch_kernel_module: false
        openvswitch_run_dir: "{{ work }}/run"
'''
    rc, output, result = run_play(workdir, tasks + OVS_CHOICE)
    assert rc == 0, output
    assert result['packages'] == ['openvswitch-switch-dpdk', 'librte-mempool-ring23']
    assert 'Read which ovs-vswitchd the alternatives system selects' in output
    assert not os.path.exists(os.path.join(workdir, 'run'))


def test_openvswitch_argument_spec_rejects_bad_types(workdir):
    tasks = '''    - name: Run the role with a wrong type
      ansible.builtin.include_role:
        name: cloudstack.ovs.openvswitch
      vars:
        openvswitch_wait_timeout: soon
'''
    rc, output, _result = run_play(workdir, tasks)
    assert rc != 0 and 'openvswitch_wait_timeout' in output, output


# ------------------------------------------------------------------ bridge_blacklist

BLACKLIST = '''    - name: Run bridge_blacklist against a fake sysfs
      ansible.builtin.include_role:
        name: cloudstack.ovs.bridge_blacklist
      vars:
        bridge_blacklist_modprobe_file: "{{ work }}/modprobe.d/cloudstack-ovs-bridge.conf"
        bridge_blacklist_sys_module: "{{ work }}/sys/module/bridge"
        bridge_blacklist_sys_class_net: "{{ work }}/sys/class/net"
        bridge_blacklist_ignore_existing: %s
''' + WRITE_OUT % ("dict(state=bridge_blacklist_state, "
                   "reboot=bridge_blacklist_reboot_required)")


def make_sys(workdir, module_files=None, holders=(), bridges=(), others=('eth0',)):
    """A fake /sys: the bridge module's directory with ``module_files`` (None: no module)
    and network devices, the ``bridges`` among them with a ``bridge`` subdirectory."""
    if module_files is not None:
        mod = os.path.join(workdir, 'sys', 'module', 'bridge')
        os.makedirs(os.path.join(mod, 'holders'))
        for name, text in module_files.items():
            with open(os.path.join(mod, name), 'w') as handle:
                handle.write(text)
        for holder in holders:
            os.makedirs(os.path.join(mod, 'holders', holder))
    net = os.path.join(workdir, 'sys', 'class', 'net')
    os.makedirs(net)
    for dev in others:
        os.makedirs(os.path.join(net, dev, 'statistics'))
    for dev in bridges:
        os.makedirs(os.path.join(net, dev, 'bridge'))


def test_bridge_blacklist_builtin_says_reboot_required(workdir):
    make_sys(workdir, module_files={'version': '2.3\n'})
    rc, output, result = run_play(workdir, BLACKLIST % 'false')
    assert rc == 0, output
    assert result['reboot'] is True
    assert result['state']['status'] == 'builtin'
    assert 'built into the running kernel' in result['state']['reason']
    # check mode: the modprobe.d file is not written
    assert not os.path.exists(os.path.join(workdir, 'modprobe.d'))


def test_bridge_blacklist_unused_module_would_be_unloaded(workdir):
    make_sys(workdir, module_files={'initstate': 'live\n', 'refcnt': '0\n'})
    rc, output, result = run_play(workdir, BLACKLIST % 'false')
    assert rc == 0, output
    assert result['state']['status'] == 'unloaded' and result['reboot'] is False
    assert 'Unload the bridge module' in output


def test_bridge_blacklist_module_in_use_names_holders(workdir):
    make_sys(workdir, module_files={'initstate': 'live\n', 'refcnt': '1\n'},
             holders=['br_netfilter'])
    rc, output, result = run_play(workdir, BLACKLIST % 'false')
    assert rc == 0, output
    assert result['reboot'] is True and result['state']['status'] == 'in-use'
    assert 'use count 1' in result['state']['reason']
    assert 'br_netfilter' in result['state']['reason']


def test_bridge_blacklist_fails_listing_linux_bridges(workdir):
    make_sys(workdir, module_files={'initstate': 'live\n', 'refcnt': '2\n'},
             bridges=['virbr0', 'br-old'])
    rc, output, result = run_play(workdir, BLACKLIST % 'false')
    assert rc != 0
    assert 'Linux bridges exist: br-old, virbr0' in output, output
    assert result is None


def test_bridge_blacklist_can_go_on_past_linux_bridges(workdir):
    make_sys(workdir, module_files={'initstate': 'live\n', 'refcnt': '2\n'}, bridges=['virbr0'])
    rc, output, result = run_play(workdir, BLACKLIST % 'true')
    assert rc == 0, output
    assert result['state']['linux_bridges'] == ['virbr0']
    assert result['state']['status'] == 'in-use' and result['reboot'] is True


def test_bridge_blacklist_no_module(workdir):
    make_sys(workdir, module_files=None)
    rc, output, result = run_play(workdir, BLACKLIST % 'false')
    assert rc == 0, output
    assert result['state']['status'] == 'absent' and result['reboot'] is False


# ------------------------------------------------------------------ cloudstack_agent

AGENT = '''    - name: Run cloudstack_agent on a properties file in the work directory
      ansible.builtin.include_role:
        name: cloudstack.ovs.cloudstack_agent
      vars:
        cloudstack_agent_properties_file: "{{ work }}/agent.properties"
        cloudstack_agent_check_bridges: %s
        cloudstack_agent_ovsdb: "unix:{{ work }}/no-such-db.sock"
        cloudstack_agent_dpdk_enabled: %s
'''


def test_cloudstack_agent_check_mode_reports_and_writes_nothing(workdir):
    path = os.path.join(workdir, 'agent.properties')
    original = '# agent\nkeystore.passphrase=s3cr3t-value\nnetwork.bridge.type=native\n'
    with open(path, 'w') as handle:
        handle.write(original)
    rc, output, _result = run_play(workdir, AGENT % ('false', 'true'), extra=['--diff'])
    assert rc == 0, output
    assert '+network.bridge.type=openvswitch' in output
    assert '+openvswitch.dpdk.enabled=true' in output
    assert '+libvirt.vif.driver=com.cloud.hypervisor.kvm.resource.OvsVifDriver' in output
    assert 's3cr3t-value' not in output
    # the handler is notified; the agent is not installed here, so it says why it does not restart
    assert 'was not restarted' in output
    with open(path) as handle:
        assert handle.read() == original


def test_cloudstack_agent_check_mode_warns_when_ovs_does_not_answer(workdir):
    rc, output, _result = run_play(workdir, AGENT % ('true', 'false'))
    assert rc == 0, output
    assert 'Check mode: OVS does not answer' in output
    assert not os.path.exists(os.path.join(workdir, 'agent.properties'))


def test_cloudstack_agent_real_run_fails_before_writing_without_bridges(workdir):
    # not check mode, but the check fails before anything is written (the file is in workdir)
    rc, output, _result = run_play(workdir, AGENT % ('true', 'false'), check=False)
    assert rc != 0
    assert 'cannot read OVS on unix:' in output, output
    assert not os.path.exists(os.path.join(workdir, 'agent.properties'))


# ------------------------------------------------------------------ xenserver_check

XEN = '''    - name: Check the XenServer backend
      ansible.builtin.include_role:
        name: cloudstack.ovs.xenserver_check
      vars:
        xenserver_check_network_conf: "{{ work }}/network.conf"
        xenserver_check_fail: %s
'''


@pytest.mark.parametrize('backend,fail,ok', [
    ('openvswitch', 'true', True),
    ('bridge', 'true', False),
    ('bridge', 'false', True),
])
def test_xenserver_check(workdir, backend, fail, ok):
    with open(os.path.join(workdir, 'network.conf'), 'w') as handle:
        handle.write(backend + '\n')
    rc, output, _result = run_play(workdir, XEN % fail)
    assert (rc == 0) == ok, output
    if backend != 'openvswitch':
        assert 'xe-switch-network-backend openvswitch' in output


def test_xenserver_check_on_a_host_that_is_not_xenserver(workdir):
    rc, output, _result = run_play(workdir, XEN % 'true')
    assert rc != 0 and 'does not look like a XenServer' in output


# ------------------------------------------------------------------ the playbook

def test_kvm_host_playbook_syntax():
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=LINK, ANSIBLE_NOCOLOR='1')
    proc = subprocess.run([PLAYBOOK, '-i', os.path.join(ROOT, 'docs', 'inventory.example.yml'),
                           '--syntax-check', os.path.join(ROOT, 'playbooks', 'kvm_host.yml')],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stdout.decode()
