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


def _compact_memory():
    for path, value in (('/proc/sys/vm/drop_caches', '1'), ('/proc/sys/vm/compact_memory', '1')):
        try:
            with open(path, 'w') as handle:
                handle.write(value)
        except OSError:
            pass


def _hugepages_free():
    with open('/proc/meminfo') as handle:
        for line in handle:
            if line.startswith('HugePages_Free:'):
                return int(line.split()[1])
    return 0


class Hugepages(object):
    """Reserve 2 MiB pages at run time and mount hugetlbfs; ``release()`` undoes both.

    ``need`` is the number of free pages the caller's switches will take (each DPDK ovs-vswitchd
    takes its ``dpdk-socket-mem`` up front); ``reserve()`` fails unless that many are free.
    """

    def __init__(self, pages=PAGES, need=None):
        self.pages = pages
        self.need = switch_pages() if need is None else need
        self.previous = None
        self.set_to = None
        self.mounted = False

    def _grow(self):
        # Pages another DPDK process holds (a running `make lab`, say) are not ours to use.
        count = _read_int(NR_HUGEPAGES)
        wanted = count - _hugepages_free() + self.pages
        if count < wanted:
            with open(NR_HUGEPAGES, 'w') as handle:
                handle.write(str(wanted))
            self.set_to = _read_int(NR_HUGEPAGES)

    def reserve(self):
        self.previous = _read_int(NR_HUGEPAGES)
        self._grow()
        for _attempt in range(3):
            if _hugepages_free() >= self.need:
                break
            # The kernel gives run-time hugepages only from free 2 MiB blocks; after a long
            # run memory is fragmented and it gives fewer than asked without an error. Free the
            # page cache and compact, then ask again.
            _compact_memory()
            self._grow()
        if _hugepages_free() < self.need:
            free = _hugepages_free()
            self.release()
            raise RuntimeError('could not reserve %d free 2 MiB hugepages: vm.nr_hugepages=%s, '
                               '%s free after compacting memory'
                               % (self.need, _read_int(NR_HUGEPAGES), free))
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


def switch_pages(*socket_mem):
    """2 MiB pages that DPDK switches with these ``dpdk-socket-mem`` values (MiB) take up front."""
    return sum(int(mem) for mem in (socket_mem or (SOCKET_MEM,))) // 2


def dpdk_other_config(vhost_sock_dir=None, extra=()):
    """other_config of a test DPDK switch: its own EAL file prefix, no PCI scan, 256 MiB at most."""
    config = {
        'dpdk-init': 'true',
        'dpdk-socket-mem': SOCKET_MEM,
        # a bound, so that a switch takes what switch_pages() says and no more
        'dpdk-socket-limit': SOCKET_MEM,
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
