# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""module_utils/dpdk and dpdk_port: port naming, the dpdk_port request and plan, guest interface
XML, dpdk capability, CPU masks."""

import xml.etree.ElementTree as ET

import pytest

from ansible_collections.cloudstack.ovs.plugins.module_utils import dpdk
from ansible_collections.cloudstack.ovs.plugins.module_utils import dpdk_port as dp
from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import ParamError


def iface(name, type_='dpdkvhostuser', options=None, external_ids=None):
    return dict(name=name, type=type_, options=options or {}, external_ids=external_ids or {},
                ofport=1, other_config={}, link_state=None, admin_state=None, error=None,
                mac_in_use=None)


def port(name, tag=None, vlan_mode=None, **kw):
    return dict(name=name, tag=tag, trunks=[], vlan_mode=vlan_mode, external_ids={},
                other_config={}, interfaces={name: iface(name, **kw)})


def snapshot(bridges=None, dpdk_initialized=True, dpdk_init='true'):
    bridges = bridges if bridges is not None else {
        'cloudbr1': dict(name='cloudbr1', datapath_type='netdev', fail_mode=None, stp_enable=False,
                         other_config={}, external_ids={}, ports={'cloudbr1': port('cloudbr1')}),
    }
    other_config = {'dpdk-init': dpdk_init} if dpdk_init is not None else {}
    return dict(open_vswitch=dict(dpdk_initialized=dpdk_initialized, other_config=other_config),
                bridges=bridges)


def plan_port(snap, bridge, name=None, mode='server', tag=None, ovs_path='/var/run/openvswitch',
              state='present', external_ids=None, **extra):
    """What the module does: the parameters through dpdk_port_request, then the plan;
    returns ``(ops, port name, before, after)``."""
    params = dict(bridge=bridge, name=name, mode=mode, tag=tag, ovs_path=ovs_path, state=state,
                  external_ids=external_ids, mac=None, model='virtio', interface_extra=[])
    params.update(extra)
    request = dp.dpdk_port_request(params)
    made = dp.plan_dpdk_port(
        snap, request['bridge'], name=request['name'], mode=request['mode'], tag=request['tag'],
        ovs_path=request['ovs_path'], state=request['state'],
        external_ids=request['external_ids'], mac=request['mac'], model=request['model'],
        interface_extra=request['interface_extra'])
    return made.ops, made.result['port'], made.before, made.after


def add_ports(snap, bridge, *ports):
    for p in ports:
        snap['bridges'][bridge]['ports'][p['name']] = p
    return snap


# ---------------------------------------------------------------- naming

def test_next_port_name_starts_at_one():
    assert dpdk.next_port_name(snapshot()['bridges']) == 'csdpdk-1'


def test_next_port_name_is_highest_plus_one_over_all_bridges():
    snap = snapshot()
    snap['bridges']['cloudbr2'] = dict(snap['bridges']['cloudbr1'], name='cloudbr2',
                                       ports={'csdpdk-10': port('csdpdk-10')})
    add_ports(snap, 'cloudbr1', port('csdpdk-2'), port('csdpdk-9'))
    # numeric, not lexical: csdpdk-10 > csdpdk-9
    assert dpdk.next_port_name(snap['bridges']) == 'csdpdk-11'


def test_next_port_name_counts_what_the_agents_grep_counts():
    # DpdkDriverImpl greps for "csdpdk-" anywhere in the name and takes the highest by sort -rV:
    # "xcsdpdk-7" sorts above every "csdpdk-N", so the agent's next port is csdpdk-8.
    snap = add_ports(snapshot(), 'cloudbr1', port('csdpdk-x'), port('csdpdk-3b'),
                     port('xcsdpdk-7'), port('csdpdk-4'))
    assert dpdk.next_port_name(snap['bridges']) == 'csdpdk-8'
    # names where the agent's parse would fail are skipped, not fatal
    snap = add_ports(snapshot(), 'cloudbr1', port('csdpdk-x'), port('csdpdk-4'))
    assert dpdk.next_port_name(snap['bridges']) == 'csdpdk-5'


def agents_next_name(names):
    """The agent's pipeline on the names (real ``sort -rV``), then its parse."""
    import subprocess
    lines = subprocess.run(['sort', '-rV'], input=''.join('%s\n' % n for n in names),
                           capture_output=True, text=True, check=True).stdout.splitlines()
    if not lines:
        return 'csdpdk-1'
    return 'csdpdk-%d' % (int(lines[0].replace('"', '').split('csdpdk-')[1]) + 1)


@pytest.mark.parametrize('names', [
    [], ['csdpdk-1'], ['csdpdk-9', 'csdpdk-10', 'csdpdk-2'], ['csdpdk-010', 'csdpdk-9'],
    ['csdpdk-100', 'csdpdk-99', 'csdpdk-1000'], ['xcsdpdk-7', 'csdpdk-40'],
    ['csdpdk-3', 'br-csdpdk-12'],
])
def test_next_port_name_is_the_agents(names):
    snap = add_ports(snapshot(), 'cloudbr1', *[port(n) for n in names])
    assert dpdk.next_port_name(snap['bridges']) == agents_next_name(names)


@pytest.mark.parametrize('vlan, tag', [(0, None), (-1, None), (4095, None), (1, 1), (4094, 4094)])
def test_agent_made_port_reads_as_right(vlan, tag):
    """As DpdkDriverImpl.addDpdkPort leaves it: a tag only for 0 < vlan < 4095, and the
    socket path <dpdkOvsPath>/ + /<port>."""
    agent_port = port('csdpdk-3', tag=vlan if 0 < vlan < 4095 else None,
                      vlan_mode='access' if 0 < vlan < 4095 else None,
                      type_='dpdkvhostuserclient',
                      options={'vhost-server-path': '/var/run/openvswitch//csdpdk-3'})
    snap = add_ports(snapshot(), 'cloudbr1', agent_port)
    ops, name, before, after = plan_port(
        snap, 'cloudbr1', name='csdpdk-3', mode='client', tag=tag,
        ovs_path='/var/run/openvswitch')
    assert ops == [] and name == 'csdpdk-3' and before == after
    assert dpdk.next_port_name(snap['bridges']) == 'csdpdk-4'


def test_socket_path_and_ovs_path_normalised():
    def path(ovs_path, name):
        return dpdk.socket_path(dpdk.validate_ovs_path('ovs_path', ovs_path), name)
    assert path('/var/run/openvswitch/', 'csdpdk-1') == '/var/run/openvswitch/csdpdk-1'
    assert path('//run//openvswitch', 'csdpdk-2') == '/run/openvswitch/csdpdk-2'
    for bad in ('run/openvswitch', '', None, '/run/open vswitch'):
        with pytest.raises(ParamError, match='^ovs_path:'):
            dpdk.validate_ovs_path('ovs_path', bad)


@pytest.mark.parametrize('value,expected', [(None, None), (1, 1), (4094, 4094), ('100', 100)])
def test_validate_tag_ok(value, expected):
    assert dpdk.validate_tag('tag', value) == expected


@pytest.mark.parametrize('value', [0, 4095, -1, 'abc', True, 1.5])
def test_validate_tag_bad(value):
    with pytest.raises(ParamError, match=r'^tag: must be a VLAN id from 1 to 4094 \(got '):
        dpdk.validate_tag('tag', value)


def test_validate_mac():
    assert dpdk.validate_mac('mac', '52:54:00:AB:cd:01') == '52:54:00:ab:cd:01'
    with pytest.raises(ParamError, match='^mac:.*5254'):
        dpdk.validate_mac('mac', '5254.00ab.cd01')


# ---------------------------------------------------------------- planning the port

def test_new_server_port_with_tag():
    ops, name, before, after = plan_port(snapshot(), 'cloudbr1', tag=100)
    assert name == 'csdpdk-1'
    assert ops == [dict(op='add_port', bridge='cloudbr1', port='csdpdk-1',
                        port_columns={'tag': 100, 'vlan_mode': 'access'},
                        iface_columns={'type': 'dpdkvhostuser'})]
    assert before == {}
    assert after['type'] == 'dpdkvhostuser' and after['tag'] == 100 and after['options'] == {}


def test_new_client_port_gets_server_path():
    ops, name, _before, after = plan_port(
        snapshot(), 'cloudbr1', name='csdpdk-5', mode='client', ovs_path='/run/ovs/vhu/',
        external_ids={'attached-mac': '02:00:00:00:00:01'})
    assert ops == [dict(op='add_port', bridge='cloudbr1', port='csdpdk-5', port_columns={},
                        iface_columns={'type': 'dpdkvhostuserclient',
                                       'options': {'vhost-server-path': '/run/ovs/vhu/csdpdk-5'},
                                       'external_ids': {'attached-mac': '02:00:00:00:00:01'}})]
    assert after['options'] == {'vhost-server-path': '/run/ovs/vhu/csdpdk-5'}


def test_same_port_again_no_ops():
    snap = add_ports(snapshot(), 'cloudbr1', port('csdpdk-1', tag=100, vlan_mode='access'))
    ops, name, before, after = plan_port(snap, 'cloudbr1', name='csdpdk-1', tag=100)
    assert ops == [] and name == 'csdpdk-1' and before == after


def test_wrong_type_and_tag_repaired():
    current = port('csdpdk-1', tag=5, vlan_mode='trunk', type_='dpdkvhostuserclient',
                   options={'vhost-server-path': '/x/csdpdk-1', 'n_rxq': '2'})
    snap = add_ports(snapshot(), 'cloudbr1', current)
    ops, _name, before, after = plan_port(snap, 'cloudbr1', name='csdpdk-1', tag=7)
    assert ops == [
        dict(op='set', table='Port', record='csdpdk-1', column='tag', value=7),
        dict(op='set', table='Port', record='csdpdk-1', column='vlan_mode', value='access'),
        dict(op='set', table='Interface', record='csdpdk-1', column='type', value='dpdkvhostuser'),
        dict(op='remove_keys', table='Interface', record='csdpdk-1', column='options',
             keys=['vhost-server-path']),
    ]
    assert before['tag'] == 5 and after['tag'] == 7
    assert after['options'] == {'n_rxq': '2'}   # options we do not own stay


def test_untagged_clears_tag():
    snap = add_ports(snapshot(), 'cloudbr1', port('csdpdk-1', tag=5, vlan_mode='access'))
    ops, _name, _before, after = plan_port(snap, 'cloudbr1', name='csdpdk-1')
    assert ops == [dict(op='clear', table='Port', record='csdpdk-1', column='tag'),
                   dict(op='clear', table='Port', record='csdpdk-1', column='vlan_mode')]
    assert after['tag'] is None


def test_client_path_follows_ovs_path():
    current = port('csdpdk-1', type_='dpdkvhostuserclient',
                   options={'vhost-server-path': '/old/csdpdk-1'})
    snap = add_ports(snapshot(), 'cloudbr1', current)
    ops, _n, _b, _a = plan_port(snap, 'cloudbr1', name='csdpdk-1', mode='client',
                                ovs_path='/new')
    assert ops == [dict(op='set', table='Interface', record='csdpdk-1', column='options',
                        value={'vhost-server-path': '/new/csdpdk-1'})]


def test_no_name_reuses_port_with_external_ids():
    snap = add_ports(snapshot(), 'cloudbr1',
                     port('csdpdk-1', external_ids={'attached-mac': 'a'}),
                     port('csdpdk-2', external_ids={'attached-mac': 'b'}))
    ops, name, _b, _a = plan_port(snap, 'cloudbr1', external_ids={'attached-mac': 'b'})
    assert name == 'csdpdk-2' and ops == []
    _ops, name, _b, _a = plan_port(snap, 'cloudbr1', external_ids={'attached-mac': 'c'})
    assert name == 'csdpdk-3'


def test_absent():
    snap = add_ports(snapshot(), 'cloudbr1', port('csdpdk-1'))
    ops, name, before, after = plan_port(snap, None, name='csdpdk-1', state='absent')
    assert ops == [dict(op='del_port', bridge='cloudbr1', port='csdpdk-1')]
    assert before['name'] == 'csdpdk-1' and after == {}
    assert plan_port(snap, None, name='csdpdk-9', state='absent')[0] == []
    with pytest.raises(ParamError, match="^name: port 'csdpdk-1' is on bridge 'cloudbr1'"):
        plan_port(snap, 'cloudbr9', name='csdpdk-1', state='absent')


def test_errors():
    with pytest.raises(ParamError, match="^bridge: no such bridge 'cloudbr9'"):
        plan_port(snapshot(), 'cloudbr9')
    system = snapshot()
    system['bridges']['cloudbr1']['datapath_type'] = 'system'
    with pytest.raises(ParamError, match="^bridge: 'cloudbr1' has datapath_type 'system'"):
        plan_port(system, 'cloudbr1')
    with pytest.raises(ParamError, match='^bridge: DPDK is not initialised.*dpdk-init is unset'):
        plan_port(snapshot(dpdk_initialized=False, dpdk_init=None), 'cloudbr1')
    with pytest.raises(ParamError, match='^tag:'):
        plan_port(snapshot(), 'cloudbr1', tag=5000)
    with pytest.raises(ParamError, match='^name:'):
        plan_port(snapshot(), 'cloudbr1', name='csdpdk-with-a-long-name')
    other = snapshot()
    other['bridges']['cloudbr2'] = dict(other['bridges']['cloudbr1'], name='cloudbr2',
                                        ports={'csdpdk-1': port('csdpdk-1')})
    with pytest.raises(ParamError, match="^name: port 'csdpdk-1' already exists on bridge 'cloudbr2'"):
        plan_port(other, 'cloudbr1', name='csdpdk-1')


def test_request_checks_everything_once_before_the_database():
    # interface_extra is checked even when the port's name is chosen only when reading
    with pytest.raises(ParamError, match=r'^interface_extra\[0\]: may not replace <source>'):
        plan_port(None, 'cloudbr1', interface_extra=['<source type="unix"/>'])
    with pytest.raises(ParamError, match='^external_ids: values may not be null') as err:
        plan_port(None, 'cloudbr1', external_ids={'vm-id': None})
    assert err.value.field == 'external_ids'
    with pytest.raises(ParamError, match='^model: may not contain NUL bytes'):
        plan_port(None, 'cloudbr1', model='virtio\x00')
    with pytest.raises(ParamError, match='^bridge: '):
        plan_port(None, 'cloudbr/1')
    # state=absent does not look at interface_extra (the interface is not returned)
    snap = add_ports(snapshot(), 'cloudbr1', port('csdpdk-1'))
    assert plan_port(snap, None, name='csdpdk-1', state='absent',
                     interface_extra=['<source/>'])[1] == 'csdpdk-1'


def test_plan_result_holds_the_port_and_its_interface():
    request = dp.dpdk_port_request(dict(
        bridge='cloudbr1', name=None, mode='client', tag=None, ovs_path='/run/ovs/',
        state='present', external_ids=None, mac='52:54:00:AA:00:01', model='virtio',
        interface_extra=[]))
    made = dp.plan_dpdk_port(snapshot(), 'cloudbr1', mode='client', ovs_path=request['ovs_path'],
                             mac=request['mac'])
    values = made.returns(with_diff=False)
    assert values['changed'] and values['actions'] == ['add port csdpdk-1 to bridge cloudbr1']
    assert values['port'] == 'csdpdk-1' and values['port_type'] == 'dpdkvhostuserclient'
    assert values['socket_path'] == '/run/ovs/csdpdk-1' and values['guest_mode'] == 'server'
    assert 'path="/run/ovs/csdpdk-1" mode="server"' in values['interface_xml']
    assert '52:54:00:aa:00:01' in values['interface_xml']
    gone = dp.plan_dpdk_port(snapshot(), None, name='csdpdk-1', state='absent')
    assert gone.returns(with_diff=False) == dict(port='csdpdk-1', changed=False, actions=[])


# ---------------------------------------------------------------- interface XML

def test_interface_xml_like_the_agent():
    xml = dpdk.interface_xml('/var/run/openvswitch/csdpdk-1', 'client', mac='52:54:00:00:00:01')
    root = ET.fromstring(xml)
    assert root.tag == 'interface' and root.get('type') == 'vhostuser'
    assert [c.tag for c in root] == ['source', 'mac', 'model']
    assert root.find('source').attrib == {'type': 'unix', 'path': '/var/run/openvswitch/csdpdk-1',
                                          'mode': 'client'}
    assert root.find('mac').get('address') == '52:54:00:00:00:01'
    assert root.find('model').get('type') == 'virtio'
    assert root.find('link') is None


def test_interface_extra_replaces_single_and_appends_new():
    xml = dpdk.interface_xml('/p/csdpdk-1', 'server',
                             extra=["<model type='e1000'/>", "<driver queues='4'/><mtu size='9000'/>"])
    root = ET.fromstring(xml)
    assert [c.tag for c in root] == ['source', 'model', 'driver', 'mtu']
    assert root.find('model').get('type') == 'e1000'
    assert root.find('source').get('mode') == 'server'


@pytest.mark.parametrize('fragment,match', [
    ('<driver', 'not well-formed'),
    ('text<driver/>', 'text outside elements'),
    ('<!DOCTYPE x><driver/>', 'declarations'),
    ("<source type='unix' path='/evil'/>", 'may not replace <source>'),
])
def test_interface_extra_rejected(fragment, match):
    with pytest.raises(ParamError, match=r'^interface_extra\[0\]: .*' + match):
        dpdk.interface_element('/p/csdpdk-1', 'client', extra=[fragment])


# ---------------------------------------------------------------- dpdk capability

@pytest.mark.parametrize('props,capable', [
    ({'network.bridge.type': 'openvswitch', 'openvswitch.dpdk.enabled': 'true'}, True),
    ({'network.bridge.type': 'OpenVSwitch', 'openvswitch.dpdk.enabled': 'TRUE'}, True),
    ({'network.bridge.type': 'openvswitch', 'openvswitch.dpdk.enabled': 'yes'}, True),
    ({'network.bridge.type': 'openvswitch', 'openvswitch.dpdk.enabled': 'false'}, False),
    ({'network.bridge.type': 'openvswitch', 'openvswitch.dpdk.enabled': '  '}, False),
    ({'network.bridge.type': 'openvswitch'}, False),
    ({'network.bridge.type': 'native', 'openvswitch.dpdk.enabled': 'true'}, False),
    ({'openvswitch.dpdk.enabled': 'true'}, False),           # bridge type defaults to native
    ({}, False),
    (None, False),
])
def test_dpdk_capability_rule(props, capable):
    assert dpdk.cloudstack_dpdk_capability(props)['capable'] is capable


def test_dpdk_capability_reasons_and_warnings():
    info = dpdk.cloudstack_dpdk_capability({'openvswitch.dpdk.enabled': 'false'})
    assert info['reasons'] == ['network.bridge.type is native, not openvswitch',
                               'openvswitch.dpdk.enabled is false, not true']
    info = dpdk.cloudstack_dpdk_capability({'network.bridge.type': 'openvswitch',
                                            'openvswitch.dpdk.enabled': 'true'})
    assert info['capable'] and info['ovs_path'] is None and 'ovs.path is unset' in info['warnings'][0]


# ---------------------------------------------------------------- CPU lists

@pytest.mark.parametrize('value,mask', [
    ('2,3,10-11', '0xc0c'), ('0', '0x1'), ('1', '0x2'), ([2, 3], '0xc'), (5, '0x20'),
    (' 0 - 0 '.replace(' ', ''), '0x1'), ('63', hex(1 << 63)), ('0-3,2', '0xf'),
])
def test_cpu_list_to_mask(value, mask):
    assert dpdk.cpu_list_to_mask(value) == mask


@pytest.mark.parametrize('value', ['', 'a', '3-1', '1,,2', '-1', None, 1.5, '1-'])
def test_cpu_list_bad(value):
    with pytest.raises(ParamError, match='^dpdk_pmd_cpus: '):
        dpdk.cpu_list_to_mask(value, field='dpdk_pmd_cpus')


def test_cpu_list_checked_against_host():
    assert dpdk.cpu_list_to_mask('1', online='0-1') == '0x2'
    with pytest.raises(ParamError) as err:
        dpdk.cpu_list_to_mask('2,3,10-11', online='0-3', field='dpdk_pmd_cpus')
    assert str(err.value) == ("dpdk_pmd_cpus: CPU 10-11 not online on this host (online: 0-3) "
                              "(got '2,3,10-11')")


def test_format_cpu_list():
    assert dpdk.format_cpu_list([11, 2, 3, 10, 5]) == '2-3,5,10-11'
    assert dpdk.format_cpu_list([0]) == '0'


# ---------------------------------------------------------------- hostile input (issue 12)

@pytest.mark.parametrize('path', ['/var/run/openvswitch/../../tmp', '/run/..', 'var/run'])
def test_ovs_path_with_dotdot_or_relative_refused(path):
    with pytest.raises(ParamError, match=r'^ovs_path: .*\(got %r\)$' % path):
        dpdk.validate_ovs_path('ovs_path', path)
    with pytest.raises(ParamError, match='^ovs_path: '):
        plan_port(snapshot(), 'cloudbr1', name='csdpdk-1', ovs_path=path)


@pytest.mark.parametrize('type_', ['internal', '', 'tap', 'gre'])
def test_existing_non_vhost_user_port_is_not_retyped(type_):
    # The bridge's own port (internal), a VM's tap (type '' = system), a tunnel.
    snap = add_ports(snapshot(), 'cloudbr1', port('vnet0', type_=type_))
    snap['bridges']['cloudbr1']['ports']['cloudbr1'] = port('cloudbr1', type_='internal')
    for name in ('vnet0', 'cloudbr1'):
        kind = (type_ or 'system') if name == 'vnet0' else 'internal'
        for mode in ('server', 'client'):
            with pytest.raises(ParamError) as err:
                plan_port(snap, 'cloudbr1', name=name, mode=mode)
            assert str(err.value).startswith(
                "name: port %r on bridge 'cloudbr1' has interface type %s, not dpdkvhostuser or "
                "dpdkvhostuserclient; this module changes only vhost-user ports" % (name, kind))
        with pytest.raises(ParamError, match="^name: port %r on bridge 'cloudbr1' has interface "
                                             "type" % name):
            plan_port(snap, None, name=name, state='absent')


def test_vhost_user_ports_of_either_mode_may_still_be_changed():
    snap = add_ports(snapshot(), 'cloudbr1', port('csdpdk-1', type_='dpdkvhostuserclient'))
    ops = plan_port(snap, 'cloudbr1', name='csdpdk-1', mode='server')[0]
    assert dict(op='set', table='Interface', record='csdpdk-1', column='type',
                value='dpdkvhostuser') in ops


def test_port_name_over_15_bytes_refused():
    with pytest.raises(ParamError, match=r"^name: 'csdpdk-üüüüü' is 17 bytes long in UTF-8"):
        plan_port(snapshot(), 'cloudbr1', name='csdpdk-üüüüü')


def test_interface_extra_nested_too_deep():
    deep = '<a>' * 1000 + '</a>' * 1000
    with pytest.raises(ParamError, match=r'^interface_extra\[1\]: XML nested more than 32 '
                                         r'elements deep is refused'):
        dpdk.interface_xml('/run/ovs/csdpdk-1', 'client', extra=['<mtu size="9000"/>', deep])
    ok = '<a>' * 32 + '</a>' * 32
    assert dpdk.interface_xml('/run/ovs/csdpdk-1', 'client', extra=[ok]).count('<a') == 32
