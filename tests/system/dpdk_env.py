# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Real OVS-DPDK for the integration suite: 2 MiB hugepages, hugetlbfs, a DPDK ovs-vswitchd.

Hugepages are global to the machine. ``Hugepages`` reserves at most ``PAGES`` 2 MiB pages
(1 GiB) and puts the previous count back afterwards; it mounts hugetlbfs on /dev/hugepages
only when nothing is mounted there and unmounts only what it mounted.

Debian installs the DPDK build as ``/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk`` and
makes ``/usr/sbin/ovs-vswitchd`` a link to it (update-alternatives). OVS names its pid file,
log and control socket after ``argv[0]``, so tests run the DPDK build through a link called
``ovs-vswitchd`` too, as a packaged host does.
"""

import os
import secrets
import subprocess
import tempfile

import pytest

from testbed import OvsSwitch
from testbed.ovs import VSWITCHD_DPDK, dpdk_vswitchd_link

PAGES = 512                 # 2 MiB pages: 1 GiB, the most the tests may take
NR_HUGEPAGES = '/proc/sys/vm/nr_hugepages'
HUGETLBFS = '/dev/hugepages'
SOCKET_MEM = '256'          # MiB per NUMA node for each DPDK ovs-vswitchd


def require_dpdk_binary():
    if not os.access(VSWITCHD_DPDK, os.X_OK):
        pytest.skip('%s is not installed (Debian package openvswitch-switch-dpdk; '
                    'run bash .ci/install-system-deps)' % VSWITCHD_DPDK)


def _read_int(path):
    with open(path) as handle:
        return int(handle.read().strip())


def _hugepages_free():
    with open('/proc/meminfo') as handle:
        for line in handle:
            if line.startswith('HugePages_Free:'):
                return int(line.split()[1])
    return 0


class Hugepages(object):
    """Reserve 2 MiB pages at run time and mount hugetlbfs; ``release()`` undoes both."""

    def __init__(self, pages=PAGES):
        self.pages = pages
        self.previous = None
        self.set_to = None
        self.mounted = False

    def reserve(self):
        self.previous = _read_int(NR_HUGEPAGES)
        # Pages another DPDK process holds (a running `make lab`, say) are not ours to use.
        wanted = self.previous - _hugepages_free() + self.pages
        if self.previous < wanted:
            with open(NR_HUGEPAGES, 'w') as handle:
                handle.write(str(wanted))
            self.set_to = _read_int(NR_HUGEPAGES)
        if _hugepages_free() < int(SOCKET_MEM) // 2:
            self.release()
            raise RuntimeError('could not reserve 2 MiB hugepages: vm.nr_hugepages=%s, %s free'
                               % (_read_int(NR_HUGEPAGES), _hugepages_free()))
        if not os.path.ismount(HUGETLBFS):
            os.makedirs(HUGETLBFS, exist_ok=True)
            subprocess.run(['mount', '-t', 'hugetlbfs', '-o', 'pagesize=2M', 'nodev', HUGETLBFS],
                           check=True)
            self.mounted = True
        return self

    def release(self):
        if self.mounted:
            subprocess.run(['umount', HUGETLBFS], check=False)
            self.mounted = False
        # Only put the old count back when nobody changed it since (a role under test may have).
        if self.set_to is not None:
            with open(NR_HUGEPAGES, 'w') as handle:
                handle.write(str(self.previous))
            self.set_to = None


def dpdk_other_config(vhost_sock_dir=None, extra=()):
    """other_config of a test DPDK switch: its own EAL file prefix, no PCI scan, 256 MiB."""
    config = {
        'dpdk-init': 'true',
        'dpdk-socket-mem': SOCKET_MEM,
        'dpdk-extra': ' '.join(['--file-prefix=csdpdk%d%s' % (os.getpid(), secrets.token_hex(3)),
                                '--no-pci'] + list(extra)),
    }
    if vhost_sock_dir:
        config['vhost-sock-dir'] = vhost_sock_dir
    return config


def start_dpdk_switch(vhost_sock_dir=None, other_config=None, eal_extra=()):
    """An OvsSwitch running the DPDK ovs-vswitchd; the caller destroys it."""
    directory = tempfile.mkdtemp(prefix='csdpdk-')
    link = dpdk_vswitchd_link(directory)
    if vhost_sock_dir:
        os.makedirs(os.path.join(directory, vhost_sock_dir), exist_ok=True)
    switch = OvsSwitch(directory=directory, vswitchd=link)
    config = dpdk_other_config(vhost_sock_dir, extra=eal_extra)
    config.update(other_config or {})
    switch.start(other_config=config)
    return switch
