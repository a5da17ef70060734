# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Traffic through vhost-user ports that cloudstack.ovs.dpdk_port made, one of each mode.

The "guests" are the vhost-user frontends QEMU would be: each is a DPDK virtio-user device
(``net_virtio_user``) in an ovs-vswitchd of its own, configured only from the ``<source>`` of
the ``interface_xml`` the module returned - its socket path, and ``server=1`` where the guest
interface mode is ``server``. Each guest switch has an address on its bridge's internal port in
its own network namespace; a ping from one to the other crosses both vhost-user ports of the
host's OVS-DPDK bridge. (QEMU guests need a guest OS image, which this machine does not have.)

Hugepages: the three ovs-vswitchd share at most 512 x 2 MiB pages (1 GiB), released afterwards.
"""

import glob
import re
import xml.etree.ElementTree as ET

import pytest

from conftest import run_module
from dpdk_env import SOCKET_MEM, Hugepages, require_dpdk_binary, start_dpdk_switch, switch_pages
from testbed import wait_for

PMD_DIRS = '/usr/lib/*/dpdk/pmds-*'
# The guests' EAL: virtio-user shares guest memory with the vhost-user backend as file
# descriptors, one per segment; --single-file-segments keeps them within the protocol's limit.
GUEST_EAL = ['--single-file-segments']
# dpdk-socket-limit: without it DPDK grows past dpdk-socket-mem for a port's mempool (OVS asks
# for 262,144 mbufs first and halves only on failure), so the first guest takes whatever
# hugepages are free and the next switch cannot start.
GUEST_CONFIG = {'per-port-memory': 'true', 'dpdk-socket-mem': '128', 'dpdk-socket-limit': '128'}


def require_virtio_user():
    for pmd in ('librte_net_virtio.so*', 'librte_mempool_ring.so*'):
        if not glob.glob('%s/%s' % (PMD_DIRS, pmd)):
            pytest.skip('DPDK driver %s is not installed (Debian packages librte-net-virtio23 and '
                        'librte-mempool-ring23; run bash .ci/install-system-deps)' % pmd)


def guest_devargs(index, interface_xml):
    """The virtio-user device a guest needs, from the guest interface's <source> element."""
    source = ET.fromstring(interface_xml).find('source')
    assert source.get('type') == 'unix'
    devargs = 'net_virtio_user%d,path=%s' % (index, source.get('path'))
    if source.get('mode') == 'server':
        devargs += ',server=1'
    return devargs


def port_counters(switch, bridge):
    """ofport -> (rx packets, tx packets) from ``ovs-ofctl dump-ports``; None where OVS shows
    ``?`` (OVS 3.1 keeps no counters for dpdkvhostuser ports)."""
    text = switch.ovs.ofctl('--no-names', 'dump-ports', bridge)
    counters = {}
    for number, rx, tx in re.findall(r'port\s+(\w+):\s+rx pkts=([\d?]+).*?\n\s+tx pkts=([\d?]+)', text):
        counters[number] = tuple(int(v) if v.isdigit() else None for v in (rx, tx))
    return counters


@pytest.fixture
def switches():
    require_dpdk_binary()
    require_virtio_user()
    # the host's switch and the two guests' switches, all at once
    guest_mem = GUEST_CONFIG['dpdk-socket-mem']
    pages = Hugepages(need=switch_pages(SOCKET_MEM, guest_mem, guest_mem)).reserve()
    started = []
    try:
        yield started
    finally:
        for switch in reversed(started):
            switch.destroy()
        pages.release()


def test_two_guests_talk_through_server_and_client_ports(switches):
    host = start_dpdk_switch(vhost_sock_dir='vhu')
    switches.append(host)
    sock_dir = host.dir + '/vhu'
    assert not run_module('ovs_bridge', dict(name='cloudbr1', datapath_type='netdev',
                                             db=host.db)).get('failed')
    ports = [run_module('dpdk_port', dict(bridge='cloudbr1', mode=mode, tag=42, ovs_path=sock_dir,
                                          db=host.db))
             for mode in ('server', 'client')]
    assert [p['port_type'] for p in ports] == ['dpdkvhostuser', 'dpdkvhostuserclient']

    guests = []
    for index, port in enumerate(ports):
        guest = start_dpdk_switch(other_config=GUEST_CONFIG, eal_extra=GUEST_EAL)
        switches.append(guest)
        bridge = 'guest%d' % index
        guest.ovs.vsctl('add-br', bridge, '--', 'set', 'Bridge', bridge, 'datapath_type=netdev')
        guest.ovs.vsctl('add-port', bridge, 'eth0', '--', 'set', 'Interface', 'eth0', 'type=dpdk',
                        'options:dpdk-devargs=%s' % guest_devargs(index, port['interface_xml']))
        guest.run('ip', 'addr', 'add', '203.0.113.%d/24' % (index + 1), 'dev', bridge)
        guest.run('ip', 'link', 'set', bridge, 'up')
        guests.append(guest)

    # both ports connected: server mode - the guest dialled OVS's socket; client mode - OVS
    # dialled the socket the guest serves
    for port in ports:
        wait_for(lambda: 'status=connected' in host.ovs.get('Interface', port['port'], 'status'),
                 timeout=30, what='%s to connect (%s)' % (port['port'], host.ovs.log_tail(lines=5)))

    ping = guests[0].run('ping', '-c', '3', '-W', '2', '203.0.113.2', check=False)
    assert ping.returncode == 0, ping.stdout + ping.stderr
    assert ' 0% packet loss' in ping.stdout

    # the packets went through the host's vhost-user ports, both ways (the client port counts)
    ofports = [str(host.ovs.wait_ofport(p['port'])) for p in ports]
    counters = port_counters(host, 'cloudbr1')
    assert counters[ofports[1]][0] >= 3 and counters[ofports[1]][1] >= 3, counters
    if counters[ofports[0]][0] is not None:
        assert counters[ofports[0]][0] >= 3 and counters[ofports[0]][1] >= 3, counters
