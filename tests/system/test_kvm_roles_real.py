# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""openvswitch and cloudstack_agent for real, on this machine's OVS 3.1 without the kernel
module and without systemd, inside a private mount + network namespace of our own: the OVS
run, log and database directories are bind mounts of a fresh temporary directory, so nothing
of the machine (or of other tests) is touched. First run starts ovsdb-server through ovs-ctl
and ovs-vswitchd without the module insert, a second run changes nothing. The daemons are
stopped by the pids they wrote, also when the test fails."""

import os
import signal
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LINK = os.path.join(ROOT, '.build', 'link')
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')

PLAY = '''
- hosts: localhost
  gather_facts: false
  roles:
    - role: cloudstack.ovs.openvswitch
      vars:
        openvswitch_install: false
        openvswitch_kernel_module: false
  tasks:
    - name: The two bridges the traffic labels name (cloudbr's job on a real host)
      cloudstack.ovs.ovs_bridge:
        name: "{{ item }}"
        datapath_type: netdev
      loop: [cloudbr0, cloudbr1]

    - name: The agent's keys
      ansible.builtin.include_role:
        name: cloudstack.ovs.cloudstack_agent
      vars:
        cloudstack_agent_properties_file: "{{ work }}/agent/agent.properties"
'''

INNER = r'''
set -e
for d in run log etc; do mkdir -p "$WORK/$d"; done
mount --bind "$WORK/run" /run/openvswitch 2>/dev/null || { mkdir -p /run/openvswitch; mount --bind "$WORK/run" /run/openvswitch; }
mount --bind "$WORK/log" /var/log/openvswitch
mount --bind "$WORK/etc" /etc/openvswitch
"$PLAYBOOK" -i localhost, -c local -e ansible_python_interpreter="$PY" -e work="$WORK" "$WORK/play.yml" > "$WORK/run1.log" 2>&1
"$PLAYBOOK" -i localhost, -c local -e ansible_python_interpreter="$PY" -e work="$WORK" "$WORK/play.yml" > "$WORK/run2.log" 2>&1
'''


def stop_daemons(rundir):
    """Stop the daemons whose pid files are in ``rundir`` and their --monitor parents."""
    for name in ('ovs-vswitchd', 'ovsdb-server'):
        try:
            with open(os.path.join(rundir, name + '.pid')) as handle:
                pid = int(handle.read().strip())
        except (OSError, ValueError):
            continue
        pids = [pid]
        try:
            with open('/proc/%d/stat' % pid) as handle:
                ppid = int(handle.read().rsplit(')', 1)[1].split()[1])
            with open('/proc/%d/cmdline' % ppid, 'rb') as handle:
                if handle.read().split(b'\0')[0].endswith(name.encode()):
                    pids.insert(0, ppid)   # the monitor first, or it restarts the daemon
        except (OSError, ValueError, IndexError):
            pass
        for victim in pids:
            try:
                os.kill(victim, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(os.path.exists('/proc/%d' % p) for p in pids):
            time.sleep(0.1)


@pytest.fixture
def workdir(tmp_path):
    """conftest's workdir, and the daemons the roles started there stopped afterwards."""
    try:
        yield str(tmp_path)
    finally:
        stop_daemons(str(tmp_path / 'run'))


def recap(log):
    line = [text for text in log.splitlines() if text.startswith('localhost ')][-1]
    return dict(part.split('=') for part in line.split(':', 1)[1].split())


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root for namespaces and bind mounts')
def test_openvswitch_and_agent_roles_really_run_and_are_idempotent(workdir):
    with open(os.path.join(workdir, 'play.yml'), 'w') as handle:
        handle.write(PLAY)
    os.makedirs(os.path.join(workdir, 'agent'))
    with open(os.path.join(workdir, 'agent', 'agent.properties'), 'w') as handle:
        handle.write('# from the package\nguid=abc\nnetwork.bridge.type=native\n')
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=LINK, ANSIBLE_NOCOLOR='1', WORK=workdir,
               PLAYBOOK=PLAYBOOK, PY=sys.executable)
    proc = subprocess.run(['unshare', '--mount', '--net', '--propagation', 'private',
                           'bash', '-c', INNER], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=600, check=False)
    logs = []
    for name in ('run1.log', 'run2.log'):
        path = os.path.join(workdir, name)
        if os.path.exists(path):
            with open(path) as handle:
                logs.append(handle.read())
        else:
            logs.append('')
    assert proc.returncode == 0, proc.stdout.decode() + '\n'.join(logs)

    first, second = recap(logs[0]), recap(logs[1])
    assert first['failed'] == '0' and int(first['changed']) > 0, logs[0]
    assert 'Start ovsdb-server with ovs-ctl (no kernel module)' in logs[0]
    assert 'Open vSwitch 3.' in logs[0]
    # second run: OVS runs, bridges exist, keys are set -> nothing changes
    assert second['failed'] == '0' and second['changed'] == '0', logs[1]

    for name in ('ovsdb-server', 'ovs-vswitchd'):
        with open(os.path.join(workdir, 'run', name + '.pid')) as handle:
            assert os.path.exists('/proc/%s' % handle.read().strip())
    with open(os.path.join(workdir, 'agent', 'agent.properties')) as handle:
        text = handle.read()
    assert text == ('# from the package\nguid=abc\nnetwork.bridge.type=openvswitch\n'
                    'libvirt.vif.driver=com.cloud.hypervisor.kvm.resource.OvsVifDriver\n'
                    'private.network.device=cloudbr0\npublic.network.device=cloudbr1\n'
                    'guest.network.device=cloudbr1\n')
    # backup of the package's file, and the handler said why the agent was not restarted
    assert any(n.startswith('agent.properties.') for n in os.listdir(os.path.join(workdir, 'agent')))
    assert 'was not restarted' in logs[0]
