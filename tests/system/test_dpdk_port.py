# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""cloudstack.ovs.dpdk_port on a real OVS-DPDK ovs-vswitchd (2 MiB hugepages, vhost-user)."""

import os
import socket
import stat
import threading

import pytest

from conftest import run_module
from dpdk_env import Hugepages, require_dpdk_binary, start_dpdk_switch
from testbed import wait_for

SOCK_DIR = 'vhu'            # other_config:vhost-sock-dir, relative to the OVS run directory


@pytest.fixture(scope='module')
def hugepages():
    require_dpdk_binary()
    pages = Hugepages().reserve()
    try:
        yield pages
    finally:
        pages.release()


@pytest.fixture(scope='module')
def dpdk_switch(hugepages):
    switch = start_dpdk_switch(vhost_sock_dir=SOCK_DIR)
    try:
        assert switch.ovs.get('Open_vSwitch', '.', 'dpdk_initialized') == 'true', \
            switch.ovs.log_tail()
        yield switch
    finally:
        switch.destroy()


def sock_dir(switch):
    return os.path.join(switch.dir, SOCK_DIR)


def make_bridge(switch, name, datapath_type='netdev'):
    result = run_module('ovs_bridge', dict(name=name, datapath_type=datapath_type, db=switch.db))
    assert not result.get('failed'), result
    return name


def iface(switch, name, column):
    return switch.ovs.get('Interface', name, column)


def is_socket(path):
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False


class VhostUserServer(object):
    """The QEMU side of a client-mode port: listen on the socket, count OVS's connections."""

    def __init__(self, path):
        self.path = path
        self.connections = 0
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(4)
        self.sock.settimeout(0.2)
        self._stop = False
        self._held = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self._stop:
            try:
                conn, _addr = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.connections += 1
            self._held.append(conn)

    def close(self):
        self._stop = True
        self.thread.join(2)
        for conn in self._held:
            conn.close()
        self.sock.close()
        if os.path.exists(self.path):
            os.unlink(self.path)


def test_server_port_socket_idempotence_check_mode(dpdk_switch):
    sw = dpdk_switch
    make_bridge(sw, 'cloudbr1')
    args = dict(bridge='cloudbr1', tag=100, ovs_path=sock_dir(sw), db=sw.db,
                mac='52:54:00:00:00:01')

    # check mode: the name CloudStack would use, nothing written
    result = run_module('dpdk_port', args, check_mode=True, diff=True)
    assert result['changed'] and result['port'] == 'csdpdk-1', result
    assert result['diff']['before'] == {}
    assert result['diff']['after']['type'] == 'dpdkvhostuser'
    assert 'csdpdk-1' not in sw.ovs.vsctl('list-ports', 'cloudbr1')

    result = run_module('dpdk_port', args)
    assert result['changed'] and result['port'] == 'csdpdk-1', result
    assert result['actions'] == ['add port csdpdk-1 to bridge cloudbr1']
    assert result['port_type'] == 'dpdkvhostuser' and result['guest_mode'] == 'client'
    path = os.path.join(sock_dir(sw), 'csdpdk-1')
    assert result['socket_path'] == path
    assert iface(sw, 'csdpdk-1', 'type') == 'dpdkvhostuser'
    assert sw.ovs.get('Port', 'csdpdk-1', 'tag') == '100'
    assert sw.ovs.get('Port', 'csdpdk-1', 'vlan_mode') == 'access'
    # OVS (the vhost-user server) creates the socket in vhost-sock-dir
    wait_for(lambda: is_socket(path), timeout=20, what='vhost-user socket %s' % path)
    assert "path=\"%s\"" % path in result['interface_xml'] and 'mode="client"' in result['interface_xml']

    # the same port again: nothing to do
    again = run_module('dpdk_port', dict(args, name='csdpdk-1'), diff=True)
    assert not again['changed'] and again['actions'] == [], again
    assert again['diff']['before'] == again['diff']['after']

    # no name: a new port each time, numbered like the agent numbers them
    second = run_module('dpdk_port', dict(args, tag=None))
    assert second['changed'] and second['port'] == 'csdpdk-2'
    assert sw.ovs.get('Port', 'csdpdk-2', 'tag') == '[]'

    # external_ids find the port again when no name is given
    ids = {'attached-mac': '52:54:00:00:00:03'}
    third = run_module('dpdk_port', dict(args, external_ids=ids))
    assert third['changed'] and third['port'] == 'csdpdk-3'
    same = run_module('dpdk_port', dict(args, external_ids=ids))
    assert not same['changed'] and same['port'] == 'csdpdk-3'
    assert iface(sw, 'csdpdk-3', 'external_ids:attached-mac') == '"52:54:00:00:00:03"'


def test_wrong_type_and_tag_are_repaired(dpdk_switch):
    sw = dpdk_switch
    make_bridge(sw, 'cloudbr2')
    sw.ovs.vsctl('add-port', 'cloudbr2', 'csdpdk-20', 'tag=5', '--', 'set', 'Interface',
                 'csdpdk-20', 'type=dpdkvhostuserclient',
                 'options:vhost-server-path=/nonexistent/csdpdk-20')
    args = dict(bridge='cloudbr2', name='csdpdk-20', tag=7, ovs_path=sock_dir(sw), db=sw.db)
    result = run_module('dpdk_port', args, diff=True)
    assert result['changed'], result
    assert sorted(result['actions']) == sorted([
        'set Port csdpdk-20 tag: 7',
        'set Port csdpdk-20 vlan_mode: access',
        'set Interface csdpdk-20 type: dpdkvhostuser',
        'remove Interface csdpdk-20 options keys: vhost-server-path'])
    assert result['diff']['before']['type'] == 'dpdkvhostuserclient'
    assert iface(sw, 'csdpdk-20', 'type') == 'dpdkvhostuser'
    assert iface(sw, 'csdpdk-20', 'options') == '{}'
    assert sw.ovs.get('Port', 'csdpdk-20', 'tag') == '7'
    assert not run_module('dpdk_port', args)['changed']

    # untagged now: the tag goes
    result = run_module('dpdk_port', dict(args, tag=None))
    assert result['changed'] and sw.ovs.get('Port', 'csdpdk-20', 'tag') == '[]'
    assert sw.ovs.get('Port', 'csdpdk-20', 'vlan_mode') == '[]'

    # next free number is above the highest on any bridge (csdpdk-20 here)
    nxt = run_module('dpdk_port', dict(args, name=None), check_mode=True)
    assert nxt['port'] == 'csdpdk-21'

    removed = run_module('dpdk_port', dict(name='csdpdk-20', state='absent', db=sw.db))
    assert removed['changed'] and removed['actions'] == ['delete port csdpdk-20 from bridge cloudbr2']
    assert 'csdpdk-20' not in sw.ovs.vsctl('list-ports', 'cloudbr2')
    assert not run_module('dpdk_port', dict(name='csdpdk-20', state='absent', db=sw.db))['changed']


def test_client_port_survives_and_reconnects_after_vswitchd_restart(dpdk_switch):
    sw = dpdk_switch
    make_bridge(sw, 'cloudbr3')
    args = dict(bridge='cloudbr3', name='csdpdk-30', mode='client', tag=30,
                ovs_path=sock_dir(sw), db=sw.db)
    path = os.path.join(sock_dir(sw), 'csdpdk-30')
    server = VhostUserServer(path)       # what QEMU does with <source mode='server'>
    try:
        result = run_module('dpdk_port', args)
        assert result['changed'] and result['port_type'] == 'dpdkvhostuserclient', result
        assert result['guest_mode'] == 'server' and 'mode="server"' in result['interface_xml']
        assert iface(sw, 'csdpdk-30', 'options:vhost-server-path') == '"%s"' % path
        wait_for(lambda: server.connections >= 1, timeout=30,
                 what='ovs-vswitchd to connect to %s' % path)

        sw.ovs.stop_vswitchd()
        before = server.connections
        sw.ovs.start_vswitchd()
        assert sw.ovs.get('Open_vSwitch', '.', 'dpdk_initialized') == 'true'
        # the port is still there, unchanged, and OVS connects to the server socket again
        assert iface(sw, 'csdpdk-30', 'type') == 'dpdkvhostuserclient'
        assert not run_module('dpdk_port', args)['changed']
        wait_for(lambda: server.connections > before, timeout=30,
                 what='ovs-vswitchd to reconnect to %s after the restart' % path)
        # server ports are still there too, and their socket is back
        server_path = os.path.join(sock_dir(sw), 'csdpdk-1')
        if 'csdpdk-1' in sw.ovs.vsctl('list-ports', 'cloudbr1'):
            wait_for(lambda: is_socket(server_path), timeout=20, what=server_path)
    finally:
        server.close()


def test_errors_change_nothing(dpdk_switch, ovs_switch):
    sw = dpdk_switch
    make_bridge(sw, 'cloudbr4')
    ports_before = sw.ovs.vsctl('list-ports', 'cloudbr4')

    bad_tag = run_module('dpdk_port', dict(bridge='cloudbr4', tag=4095, db=sw.db))
    assert bad_tag['failed'] and bad_tag['msg'].startswith('tag:') and '4095' in bad_tag['msg']

    bad_path = run_module('dpdk_port', dict(bridge='cloudbr4', ovs_path='relative/dir', db=sw.db))
    assert bad_path['failed'] and bad_path['msg'].startswith('ovs_path:')

    missing = run_module('dpdk_port', dict(bridge='nosuchbr', db=sw.db))
    assert missing['failed'] and "no such bridge 'nosuchbr'" in missing['msg']

    # a kernel-datapath bridge (the row is enough; this machine has no kernel module)
    sw.ovs.vsctl('add-br', 'sysbr0', '--', 'set', 'Bridge', 'sysbr0', 'datapath_type=system')
    system = run_module('dpdk_port', dict(bridge='sysbr0', db=sw.db))
    assert system['failed'] and "'system'" in system['msg'] and 'netdev' in system['msg']
    assert sw.ovs.vsctl('list-ports', 'sysbr0').strip() == ''

    taken = run_module('dpdk_port', dict(bridge='cloudbr4', name='csdpdk-1', db=sw.db))
    assert taken['failed'] and "already exists on bridge 'cloudbr1'" in taken['msg']

    bad_xml = run_module('dpdk_port', dict(bridge='cloudbr4', name='csdpdk-40', db=sw.db,
                                           interface_extra=['<driver queues="2">']))
    assert bad_xml['failed'] and bad_xml['msg'].startswith('interface_extra[0]:')
    assert sw.ovs.vsctl('list-ports', 'cloudbr4') == ports_before

    # an ovs-vswitchd without DPDK
    make_bridge(ovs_switch, 'cloudbr1')
    plain = run_module('dpdk_port', dict(bridge='cloudbr1', db=ovs_switch.db))
    assert plain['failed'] and 'DPDK is not initialised' in plain['msg'], plain
    assert ovs_switch.ovs.vsctl('list-ports', 'cloudbr1').strip() == ''


def test_interface_extra_merged(dpdk_switch):
    sw = dpdk_switch
    make_bridge(sw, 'cloudbr5')
    result = run_module('dpdk_port', dict(
        bridge='cloudbr5', name='csdpdk-50', ovs_path=sock_dir(sw), db=sw.db,
        interface_extra=["<model type='e1000'/>", "<driver queues='2'/>"]))
    xml = result['interface_xml']
    assert 'type="e1000"' in xml and 'virtio' not in xml and 'queues="2"' in xml
    # ofport assigned: ovs-vswitchd really added the port
    assert sw.ovs.wait_ofport('csdpdk-50') > 0


def test_ovs_info_reports_dpdk_and_the_agent_capability(dpdk_switch, tmp_path):
    sw = dpdk_switch
    props = tmp_path / 'agent.properties'
    info = run_module('ovs_info', dict(db=sw.db, agent_properties=str(props)))
    assert info['dpdk_initialized'] is True and 'dpdkvhostuser' in info['iface_types']
    assert info['cloudstack_dpdk_capable'] is False      # no agent.properties yet

    props.write_text('network.bridge.type=openvswitch\nopenvswitch.dpdk.enabled=true\n'
                     'openvswitch.dpdk.ovs.path=%s\n' % sock_dir(sw))
    info = run_module('ovs_info', dict(db=sw.db, agent_properties=str(props)))
    assert info['cloudstack_dpdk_capable'] is True, info['cloudstack_dpdk']
    assert info['cloudstack_dpdk']['ovs_path'] == sock_dir(sw)

    props.write_text('network.bridge.type=native\nopenvswitch.dpdk.enabled=true\n')
    info = run_module('ovs_info', dict(db=sw.db, agent_properties=str(props)))
    assert info['cloudstack_dpdk_capable'] is False
    assert info['cloudstack_dpdk']['reasons'] == ['network.bridge.type is native, not openvswitch']
