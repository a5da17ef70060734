# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Hostile inputs against the real modules on a real switch (issue 12, items 6 to 9).

Every call must fail with a message that names the field (and the value where that helps),
change nothing in the database (a dump of the tables the modules write, with ``next_cfg``,
which every committed Open_vSwitch transaction bumps, is equal before and after) and
return promptly: NUL bytes used to hang the module for the whole OVSDB timeout. The bound on
"promptly" is the subprocess timeout of ``run_module``, not a timed assertion.
"""

import os

import pytest

from conftest import run_module
from dpdk_env import Hugepages, require_dpdk_binary, start_dpdk_switch
from libvirt_fixtures import private_libvirtd  # noqa: F401 pylint: disable=unused-import
from testbed import OvsSwitch

# Generous for a loaded machine; a hang (the old NUL behaviour) is bounded by it.
CALL_TIMEOUT = 90
DEEP_XML = '<a>' * 1000 + '</a>' * 1000
LONG_NAME = 'br' + '\u00fc' * 8           # 10 characters, 18 bytes in UTF-8
DUMP = (('Open_vSwitch', 'next_cfg,bridges,other_config,external_ids'),
        ('Bridge', 'name,datapath_type,fail_mode,ports,other_config,external_ids'),
        ('Port', 'name,interfaces,tag,vlan_mode,external_ids'),
        ('Interface', 'name,type,options,external_ids'))


def db_dump(switch):
    """What any module call could change, without counters ovs-vswitchd keeps updating."""
    return ''.join(switch.ovs.vsctl('--columns=%s' % cols, 'list', table) for table, cols in DUMP)


def refused(switch, module, args, field, value=None, check_mode=False):
    """Run ``module``; assert it failed naming ``field`` (and ``value``) and changed nothing."""
    before = db_dump(switch)
    result = run_module(module, dict(args, db=switch.db), check_mode=check_mode,
                        timeout=CALL_TIMEOUT)
    after = db_dump(switch)
    assert result.get('failed') is True, result
    assert result.get('changed') is not True, result
    msg = result['msg']
    assert msg.startswith(field + ':') or ("option '%s'" % field) in msg, msg
    if value is not None:
        assert value in msg, msg
    assert after == before
    return msg


@pytest.fixture(scope='module')
def switch():
    the_switch = OvsSwitch().start()
    try:
        the_switch.ovs.vsctl('add-br', 'br-in', '--', 'set', 'Bridge', 'br-in',
                             'datapath_type=netdev')
        yield the_switch
    finally:
        the_switch.destroy()


# ---------------------------------------------------------------- 6. names are bytes

@pytest.mark.parametrize('module, args, field', [
    ('ovs_bridge', dict(name=LONG_NAME), 'name'),
    ('gre_network', dict(host_id=1, key=7, bridge=LONG_NAME,
                         peers=[dict(host_id=2, remote_ip='192.0.2.2')]), 'bridge'),
    ('dpdk_port', dict(bridge='br-in', name='vh' + '\u00fc' * 7), 'name'),
])
def test_names_over_15_bytes_are_refused(switch, module, args, field):
    msg = refused(switch, module, args, field, 'bytes long in UTF-8')
    assert 'at most 15 bytes' in msg


# ---------------------------------------------------------------- 7. NUL bytes, nested values

@pytest.mark.parametrize('module, args, field', [
    ('ovs_bridge', dict(name='br\x00x'), 'name'),
    ('ovs_bridge', dict(name='br-in', other_config={'a\x00b': 'x'}), 'other_config'),
    ('ovs_bridge', dict(name='br-in', external_ids={'k': 'v\x00w'}), 'external_ids'),
    ('ovs_config', dict(external_ids={'k': 'v\x00w'}), 'external_ids'),
    ('ovs_config', dict(other_config={'k\x00': 'v'}), 'other_config'),
    ('dpdk_port', dict(bridge='br-in', name='csdpdk-1', external_ids={'iface-id': 'a\x00'}),
     'external_ids'),
    ('gre_network', dict(host_id=1, key=7, bridge='gre\x007',
                         peers=[dict(host_id=2, remote_ip='192.0.2.2')]), 'bridge'),
])
def test_nul_bytes_are_refused_at_once(switch, module, args, field):
    msg = refused(switch, module, args, field, 'NUL')
    assert '\\x00' in msg          # the value, shown escaped


@pytest.mark.parametrize('module, args, field, key', [
    ('ovs_bridge', dict(name='br-in', other_config={'k': {'a': 1}}), 'other_config', 'k'),
    ('ovs_bridge', dict(name='br-in', external_ids={'k': [1, 2]}), 'external_ids', 'k'),
    ('ovs_config', dict(external_ids={'n': {'a': {'b': 1}}}), 'external_ids', 'n'),
    ('dpdk_port', dict(bridge='br-in', name='csdpdk-1', external_ids={'m': [1]}),
     'external_ids', 'm'),
])
def test_nested_map_values_are_refused_naming_the_key(switch, module, args, field, key):
    msg = refused(switch, module, args, field, "value of key %r" % key)
    assert 'must be a string, number or boolean' in msg


@pytest.mark.parametrize('peers', ['notalist', 'a,b'])
def test_peers_not_a_list_is_named(switch, peers):
    refused(switch, 'gre_network', dict(host_id=1, key=7, peers=peers), 'peers')


# ---------------------------------------------------------------- 8. nesting depth

@pytest.mark.parametrize('check_mode', [False, True])
def test_deep_interface_extra_is_refused(switch, check_mode):
    msg = refused(switch, 'dpdk_port', dict(bridge='br-in', name='csdpdk-1',
                                            interface_extra=[DEEP_XML]),
                  'interface_extra[0]', check_mode=check_mode)
    assert 'nested more than 32 elements deep' in msg


# ---------------------------------------------------------------- 9. ovs_path with '..'

@pytest.mark.parametrize('path', ['/var/run/openvswitch/../../tmp', '/run/..'])
def test_ovs_path_with_dotdot_is_refused(switch, path):
    refused(switch, 'dpdk_port', dict(bridge='br-in', name='csdpdk-1', ovs_path=path),
            'ovs_path', repr(path))


# ---------------------------------------------------------------- 9. no retyping (OVS-DPDK)

@pytest.fixture(scope='module')
def dpdk_switch():
    require_dpdk_binary()
    pages = Hugepages(pages=192).reserve()
    try:
        sw = start_dpdk_switch()
        try:
            assert sw.ovs.get('Open_vSwitch', '.', 'dpdk_initialized') == 'true', \
                sw.ovs.log_tail()
            sw.ovs.vsctl('add-br', 'cloudbr1', '--', 'set', 'Bridge', 'cloudbr1',
                         'datapath_type=netdev')
            # A VM's tap as libvirt plugs it: a kernel tap device, a system port of the bridge.
            sw.run('ip', 'tuntap', 'add', 'dev', 'vnet0', 'mode', 'tap')
            sw.ovs.vsctl('add-port', 'cloudbr1', 'vnet0')
            yield sw
        finally:
            sw.destroy()
    finally:
        pages.release()


@pytest.mark.parametrize('name, kind', [('cloudbr1', 'internal'), ('vnet0', 'system')])
@pytest.mark.parametrize('mode', ['server', 'client'])
@pytest.mark.parametrize('check_mode', [True, False])
def test_dpdk_port_will_not_retype_other_ports(dpdk_switch, name, kind, mode, check_mode):
    msg = refused(dpdk_switch, 'dpdk_port', dict(bridge='cloudbr1', name=name, mode=mode),
                  'name', repr(name), check_mode=check_mode)
    assert 'has interface type %s, not dpdkvhostuser or dpdkvhostuserclient' % kind in msg


def test_dpdk_port_will_not_delete_other_ports(dpdk_switch):
    refused(dpdk_switch, 'dpdk_port', dict(name='vnet0', state='absent'), 'name', "'vnet0'")
    assert dpdk_switch.ovs.get('Interface', 'vnet0', 'type') == '""'


# ---------------------------------------------------------------- 7./8. vm_extraconfig (libvirt)

DOMAIN_XML = '''<domain type='qemu'>
  <name>csovs-reliability-%d</name>
  <memory unit='KiB'>65536</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
</domain>'''


@pytest.mark.parametrize('extraconfig, domain_suffix, field', [
    ({'deep': DEEP_XML}, '', 'extraconfig'),      # a mapping of sections
    (DEEP_XML, '', 'extraconfig'),                # CloudStack's API string
    ('<a/>', '\x00x', 'domain'),                  # NUL in the domain name
])
def test_vm_extraconfig_refuses_deep_sections_and_nul(private_libvirtd, extraconfig,
                                                      domain_suffix, field):
    libvirt = pytest.importorskip('libvirt')
    conn = libvirt.open(private_libvirtd.uri)
    dom = conn.defineXML(DOMAIN_XML % os.getpid())
    try:
        before = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        result = run_module('vm_extraconfig', dict(uri=private_libvirtd.uri,
                                                   domain=dom.name() + domain_suffix,
                                                   extraconfig=extraconfig),
                            timeout=CALL_TIMEOUT)
        assert result.get('failed') is True and not result.get('changed'), result
        assert result['msg'].startswith(field + ':'), result['msg']
        if field == 'extraconfig':
            assert 'XML nested more than 32 elements deep is refused' in result['msg']
        else:
            assert '\\x00' in result['msg']
        assert dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE) == before
    finally:
        dom.undefine()
        conn.close()
