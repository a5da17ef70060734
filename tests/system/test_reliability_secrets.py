# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Issue 12, causes 4 and 5: secrets never shown, agent.properties edge cases - for real.

* Modules run as Ansible runs them (own process, JSON arguments file).
* Syslog is caught for real: the module runs in a private mount namespace whose ``/dev``
  is a small tmpfs (``null``, ``zero``, ``random``, ``urandom`` bound in from the real
  one) with ``/dev/log`` bound to a datagram socket this test listens on. What
  AnsibleModule logs ("Invoked with ...") arrives there; the host's ``/dev`` is untouched.
* "SIGKILL mid-write" is a real SIGKILL: strace injects it at the module's rename,
  after the temporary file was written and fsync'ed, the worst moment for a leftover.
"""

import fcntl
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LINK = os.path.join(ROOT, '.build', 'link')

SECRET = "Tr0ub4dor&3-s3cr3t"
VNC_SECRET = "vnc'Pw7x"
MASKED = 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'

# Mount namespace with /dev/log bound to our socket ($W/log.sock); then exec the module.
SYSLOG_NS = r'''set -e
mkdir -p "$W/hostdev"
mount --bind /dev "$W/hostdev"
mount -t tmpfs -o mode=0755 cs-ovs-logdev /dev
for n in null zero full random urandom; do
  touch /dev/$n
  mount --bind "$W/hostdev/$n" /dev/$n
done
touch /dev/log
mount --bind "$W/log.sock" /dev/log
exec "$@"
'''


def module_command(name, args, workdir, check=False, diff=True):
    params = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
    fd, args_file = tempfile.mkstemp(dir=workdir, prefix='args-', suffix='.json')
    with os.fdopen(fd, 'w') as handle:
        json.dump({'ANSIBLE_MODULE_ARGS': params}, handle)
    return [sys.executable, '-m', 'ansible_collections.cloudstack.ovs.plugins.modules.' + name,
            args_file]


def finish(proc):
    out = proc.stdout.decode()
    if '{' not in out:
        raise AssertionError('no JSON (rc %s): %s %s' % (proc.returncode, out, proc.stderr))
    result = json.loads(out[out.index('{'):])
    result['_raw'] = out + proc.stderr.decode()
    return result


def run_process(name, args, workdir, check=False, diff=True, prefix=()):
    return subprocess.run(list(prefix) + module_command(name, args, workdir, check, diff),
                          env=dict(os.environ, PYTHONPATH=LINK), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=120, check=False)


def run_module(name, args, workdir, check=False, diff=True):
    return finish(run_process(name, args, workdir, check, diff))


def run_logged(name, args, workdir, check=False, diff=True):
    """Run the module with syslog caught; return (result, [syslog lines])."""
    sock_path = os.path.join(workdir, 'log.sock')
    if os.path.exists(sock_path):
        os.unlink(sock_path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.bind(sock_path)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        proc = subprocess.run(
            ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', SYSLOG_NS, 'sh']
            + module_command(name, args, workdir, check, diff),
            env=dict(os.environ, PYTHONPATH=LINK, W=workdir), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, timeout=120, check=False)
        # Every datagram was queued before the module exited: read until empty, no wait.
        sock.setblocking(False)
        lines = []
        while True:
            try:
                lines.append(sock.recv(1 << 20).decode('utf-8', 'replace'))
            except BlockingIOError:
                break
    finally:
        sock.close()
    return finish(proc), lines


def write(path, text):
    with open(path, 'w') as handle:
        handle.write(text)


def read(path):
    with open(path, 'rb') as handle:
        return handle.read()


# ------------------------------------------------------------ secrets: agent_properties

def test_bad_secret_value_is_not_in_msg_invocation_or_syslog(workdir):
    path = os.path.join(workdir, 'agent.properties')
    write(path, 'host=192.0.2.1\n')
    result, log = run_logged('agent_properties', dict(
        path=path, properties={'keystore.passphrase': [SECRET, 'other-' + SECRET]}), workdir)
    assert result['failed'] is True
    assert result['msg'].startswith('properties.keystore.passphrase: must be a string'), result
    assert 'list' in result['msg'] and 'not shown' in result['msg']
    assert SECRET not in result['_raw']
    assert any('Invoked with' in line and path in line for line in log), log
    assert not [line for line in log if SECRET in line], log
    assert read(path) == b'host=192.0.2.1\n'


def test_bad_other_value_keeps_secrets_out_of_invocation_and_syslog(workdir):
    path = os.path.join(workdir, 'agent.properties')
    write(path, 'host=192.0.2.1\n')
    result, log = run_logged('agent_properties', dict(
        path=path, properties={'keystore.passphrase': SECRET, 'db.pwd': 'pwd-' + SECRET,
                               'host': ['192.0.2.9']}), workdir)
    assert result['failed'] is True
    assert result['msg'].startswith('properties.host: must be a string'), result['msg']
    assert "['192.0.2.9']" in result['msg']          # a non-secret value is named
    assert SECRET not in result['_raw']
    shown = result['invocation']['module_args']['properties']
    # still useful: the other keys show, the secrets do not
    assert shown['host'] == ['192.0.2.9'] and shown['keystore.passphrase'] == MASKED
    assert any('Invoked with' in line for line in log), log
    assert not [line for line in log if SECRET in line], log


def test_successful_run_keeps_secrets_out_of_syslog_diff_and_output(workdir):
    path = os.path.join(workdir, 'agent.properties')
    write(path, 'keystore.passphrase=old-%s\nhost=192.0.2.1\n' % SECRET)
    keys = {'keystore.passphrase': SECRET, 'db.pwd': 'a-' + SECRET, 'ldap.pw': 'b-' + SECRET,
            'cluster.cred': 'c-' + SECRET, 'mgmtApiKey': 'd-' + SECRET, 'dbPassWord': 'e-' + SECRET,
            'host': '192.0.2.2'}
    result, log = run_logged('agent_properties', dict(path=path, properties=keys), workdir)
    assert result['changed'] is True, result
    assert SECRET not in result['_raw']
    after = result['diff']['after']
    for key in keys:
        if key != 'host':
            assert '%s=********' % key in after, after
    assert 'host=192.0.2.2' in after                 # the diff keeps showing the rest
    assert result['invocation']['module_args']['properties']['host'] == '192.0.2.2'
    assert any('Invoked with' in line and path in line for line in log), log
    assert not [line for line in log if SECRET in line], log
    assert SECRET.encode() in read(path)


# ------------------------------------------------------------ leftover temporary files

def test_sigkill_at_rename_leaves_a_temp_file_the_next_run_removes(workdir):
    if shutil.which('strace') is None:
        pytest.skip('strace is not installed')
    path = os.path.join(workdir, 'agent.properties')
    write(path, 'host=192.0.2.1\n')
    args = dict(path=path, properties={'keystore.passphrase': SECRET})
    calls = 'rename,renameat,renameat2'
    proc = run_process('agent_properties', args, workdir, prefix=(
        'strace', '-f', '-qq', '-o', os.path.join(workdir, 'strace.out'), '-e', 'trace=' + calls,
        '-e', 'inject=%s:error=EIO:signal=KILL' % calls))
    assert proc.returncode in (-9, 137), (proc.returncode, proc.stdout, proc.stderr)
    assert read(path) == b'host=192.0.2.1\n'
    temps = [n for n in os.listdir(workdir) if n.startswith('.agent.properties.')]
    assert len(temps) == 1, os.listdir(workdir)
    leftover = os.path.join(workdir, temps[0])
    # atomic_move gave it the file's own owner and mode just before the rename
    assert stat.S_IMODE(os.stat(leftover).st_mode) == stat.S_IMODE(os.stat(path).st_mode)
    assert SECRET.encode() in read(leftover)         # what is at stake

    # a file that only looks similar is not ours and stays
    write(os.path.join(workdir, '.agent.properties.swp'), 'editor')
    result = run_module('agent_properties', args, workdir)
    assert result['changed'] is True
    assert result['removed_temp_files'] == [leftover]
    assert not os.path.exists(leftover)
    assert sorted(n for n in os.listdir(workdir) if n.startswith('.agent')) == [
        '.agent.properties.swp']
    assert read(path) == ('host=192.0.2.1\nkeystore.passphrase=%s\n' % SECRET).encode()
    assert SECRET not in result['_raw']


def test_a_temp_file_a_running_run_holds_is_left_alone(workdir):
    path = os.path.join(workdir, 'agent.properties')
    write(path, 'a=1\n')
    held = os.path.join(workdir, '.agent.properties.abcd1234.tmp')
    write(held, 'a=2\n')
    with open(held, 'rb') as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        result = run_module('agent_properties', dict(path=path, properties={'a': '1'}),
                            workdir)
        assert result['removed_temp_files'] == [] and os.path.exists(held)
    result = run_module('agent_properties', dict(path=path, properties={'a': '1'}), workdir)
    assert result['removed_temp_files'] == [held] and not os.path.exists(held)
    assert result['changed'] is False


# ------------------------------------------------------------ symlink, owner, mode

def test_symlink_is_followed_and_kept(workdir):
    real_dir = os.path.join(workdir, 'real')
    os.mkdir(real_dir)
    real = os.path.join(real_dir, 'agent.properties')
    write(real, '# real\nhost=192.0.2.1\n')
    os.chmod(real, 0o604)
    link = os.path.join(workdir, 'agent.properties')
    os.symlink('real/agent.properties', link)
    result = run_module('agent_properties', dict(path=link, properties={'host': '192.0.2.2'}),
                        workdir)
    assert result['changed'] is True, result
    assert os.path.islink(link) and os.readlink(link) == 'real/agent.properties'
    assert read(real) == b'# real\nhost=192.0.2.2\n'
    assert stat.S_IMODE(os.stat(real).st_mode) == 0o604
    assert result['target'] == real and result['path'] == link
    again = run_module('agent_properties', dict(path=link, properties={'host': '192.0.2.2'}),
                       workdir)
    assert again['changed'] is False


@pytest.mark.parametrize('bad, field', [
    (dict(mode='0999'), 'mode'),
    (dict(mode='u=rwz'), 'mode'),
    (dict(mode='077777'), 'mode'),
    (dict(owner='cs-ovs-no-such-user'), 'owner'),
    (dict(group='cs-ovs-no-such-group'), 'group'),
])
def test_bad_mode_or_owner_with_a_pending_change_changes_nothing(workdir, bad, field):
    path = os.path.join(workdir, 'agent.properties')
    write(path, 'a=1\n')
    os.utime(path, ns=(1_500_000_000_000_000_000, 1_500_000_000_000_000_000))
    before = os.stat(path)
    result = run_module('agent_properties', dict(path=path, properties={'a': '2'}, **bad),
                        workdir)
    after = os.stat(path)
    assert read(path) == b'a=1\n'
    assert (after.st_ino, after.st_mtime_ns, after.st_mode) == (
        before.st_ino, before.st_mtime_ns, before.st_mode)
    assert result['failed'] is True and result.get('changed') is False, result
    assert result['msg'].startswith(field + ':'), result['msg']
    assert 'nothing was changed' in result['msg']
    assert [n for n in os.listdir(workdir) if n.startswith('.agent')] == []


# ------------------------------------------------------------ other modules

def test_vm_extraconfig_secret_in_a_section_not_logged_nor_returned(workdir):
    pytest.importorskip('libvirt')
    section = '<graphics type="vnc" port="-1" passwd="%s"/>' % VNC_SECRET
    result, log = run_logged('vm_extraconfig', dict(
        uri='test:///default', domain='test', extraconfig={'dpdk-vnc': section}),
        workdir, check=True)
    assert 'failed' not in result, result
    assert VNC_SECRET not in result['_raw'] and 'Pw7x' not in result['_raw']
    assert any('Invoked with' in line for line in log), log
    assert not [line for line in log if 'Pw7x' in line], log


VNC_DOMAIN = """<domain type='qemu'>
  <name>{name}</name>
  <memory unit='KiB'>65536</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <graphics type='vnc' port='-1' passwd="{passwd}"/>
  </devices>
</domain>"""


def test_vm_extraconfig_diff_masks_a_vnc_password_holding_an_apostrophe(workdir):
    libvirt = pytest.importorskip('libvirt')
    from libvirt_fixtures import PrivateLibvirtd, LIBVIRTD
    if not os.path.exists(LIBVIRTD) or shutil.which('setpriv') is None:
        pytest.skip('libvirtd or setpriv is not installed')
    daemon = PrivateLibvirtd().start()
    try:
        conn = libvirt.open(daemon.uri)
        name = 'csovs-%d-vncpw' % os.getpid()
        dom = conn.defineXML(VNC_DOMAIN.format(name=name, passwd=VNC_SECRET))
        try:
            # libvirt itself holds the password with the apostrophe
            assert 'Pw7x' in dom.XMLDesc(libvirt.VIR_DOMAIN_XML_SECURE)
            result, log = run_logged('vm_extraconfig', dict(
                uri=daemon.uri, domain=name,
                extraconfig={'dpdk-hugepages': '<memoryBacking><hugepages/></memoryBacking>'}),
                workdir, check=True)
            assert result['changed'] is True, result
            assert 'passwd="********"' in result['diff']['before']
            assert 'passwd="********"' in result['diff']['after']
            assert 'Pw7x' not in result['_raw']
            assert not [line for line in log if 'Pw7x' in line], log
            # no secret in this section: the option still shows in invocation
            shown = result['invocation']['module_args']['extraconfig']
            assert shown == {'dpdk-hugepages': '<memoryBacking><hugepages/></memoryBacking>'}
        finally:
            dom.undefine()
            conn.close()
    finally:
        daemon.stop()


def test_cs_ovs_provider_credentials_never_shown(workdir, fake):
    result, log = run_logged('cs_ovs_provider', dict(
        api_url=fake.url, api_key='key-' + SECRET, api_secret='secret-' + SECRET,
        zone='no-such-zone', physical_network='gre-guest'), workdir)
    assert result['failed'] is True and '401' in result['msg'], result['msg']
    assert SECRET not in result['_raw']
    assert result['invocation']['module_args']['api_secret'] == MASKED
    assert any('Invoked with' in line for line in log), log
    assert not [line for line in log if SECRET in line], log
