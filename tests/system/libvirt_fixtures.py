# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""A private libvirtd for the tests, and ways to run a module against it.

The daemon is an unprivileged *session* libvirtd (uid nobody) with its own runtime,
config and cache directories under a fresh temporary directory: it shares no socket,
lock, state or domain definition with a system libvirtd or with other test runs, and it
is stopped by its pid. Defining QEMU domains needs no KVM and no virtlogd (nothing is
started), so nothing else is needed.
"""

import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
LINK = os.path.join(REPO, '.build', 'link')
LIBVIRTD = '/usr/sbin/libvirtd'
NOBODY = 65534


class PrivateLibvirtd(object):
    """One session libvirtd owned by this test run."""

    def __init__(self):
        self.base = tempfile.mkdtemp(prefix='cs-ovs-libvirtd-%d-' % os.getpid())
        os.chmod(self.base, 0o755)
        os.chown(self.base, NOBODY, NOBODY)
        self.proc = None
        self.socket = os.path.join(self.base, 'run', 'libvirt', 'libvirt-sock')
        self.uri = 'qemu+unix:///session?socket=%s' % self.socket
        self.log = os.path.join(self.base, 'libvirtd.log')

    def start(self, timeout=30):
        env = dict(HOME=self.base, PATH='/usr/sbin:/usr/bin:/sbin:/bin',
                   XDG_RUNTIME_DIR=os.path.join(self.base, 'run'),
                   XDG_CONFIG_HOME=os.path.join(self.base, 'config'),
                   XDG_CACHE_HOME=os.path.join(self.base, 'cache'))
        with open(self.log, 'wb') as log:
            # In the foreground, so the pid we hold is the daemon's own.
            self.proc = subprocess.Popen(
                ['setpriv', '--reuid=%d' % NOBODY, '--regid=%d' % NOBODY, '--clear-groups', LIBVIRTD],
                env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.socket):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                with open(self.log) as handle:
                    raise RuntimeError('private libvirtd did not come up: %s' % handle.read()[-2000:])
            time.sleep(0.05)
        return self

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture(scope='module')
def private_libvirtd():
    if os.geteuid() != 0:
        pytest.skip('needs root (starts libvirtd as nobody)')
    if not os.path.exists(LIBVIRTD) or shutil.which('setpriv') is None:
        pytest.skip('libvirtd or setpriv is not installed')
    daemon = PrivateLibvirtd().start()
    try:
        yield daemon
    finally:
        daemon.stop()
