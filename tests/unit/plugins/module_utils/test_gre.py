# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Pure planning of the GRE mesh: validation, ops and diff from a snapshot, flows."""

import pytest

from ansible_collections.cloudstack.ovs.plugins.module_utils.cloudstack_agent import (
    agent_considers_configured,
    agent_sees_setup,
    ovs_vsctl_string,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import ParamError
from ansible_collections.cloudstack.ovs.plugins.module_utils.gre import plan_networks
from ansible_collections.cloudstack.ovs.plugins.module_utils.gre_flows import (
    desired_flows,
    flow_diff,
    installed_flows,
    normalize_flow,
    parsed_flow,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.gre_names import (
    ADOPTED_KEY,
    GRE_COLUMNS,
    OWNER_KEY,
    OWNER_VALUE,
    bridge_markers,
    host_setup_value,
    is_tunnel_port,
    port_name,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.gre_request import (
    mesh_invocation,
    normalize_networks,
    normalize_purge,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.ovsdb_ops import describe_op

PEERS = [dict(host_id=3, remote_ip='192.0.2.13'), dict(host_id=2, remote_ip='192.0.2.12')]


def params(**kw):
    base = dict(host_id=1, key=1001, peers=PEERS, state='present')
    base.update(kw)
    return base


def iface(name, options, type_='gre', ofport=None):
    return dict(name=name, type=type_, options=dict(options), ofport=ofport, external_ids={},
                other_config={}, link_state='up', admin_state='up', error=None, mac_in_use=None)


def gre_port(name, key, remote_ip, protected=True, marker=True, ofport=None):
    return dict(name=name, tag=None, trunks=[], vlan_mode=None, protected=protected,
                external_ids={OWNER_KEY: OWNER_VALUE} if marker else {}, other_config={},
                interfaces={name: iface(name, dict(key=str(key), remote_ip=remote_ip),
                                        ofport=ofport)})


def plain_port(name):
    return dict(name=name, tag=None, trunks=[], vlan_mode=None, protected=False, external_ids={},
                other_config={}, interfaces={name: iface(name, {}, type_='system')})


def tunnel_bridge(key=1001, ports=(), other_config=None):
    name = 'OVSTunnel%d' % key
    all_ports = {name: plain_port(name)}
    for p in ports:
        all_ports[p['name']] = p
    return dict(name=name, datapath_type='netdev', fail_mode=None, stp_enable=False,
                other_config=other_config if other_config is not None else
                {'gre_key': str(key), 'is-ovs-tun-network': 'True', 'ovs-host-setup': '1,1,-1'},
                external_ids={OWNER_KEY: OWNER_VALUE}, ports=all_ports)


def plan(bridges, **kw):
    host_id, local_ip, networks = normalize_networks(params(**kw))
    return plan_networks(bridges, host_id, local_ip, networks, datapath_type='netdev',
                         purge=kw.get('purge', True), state=kw.get('state', 'present'))


# ---------------------------------------------------------------- validation

def test_port_name_is_cloudstacks():
    assert port_name(1001, 1, 2) == 't1001-1-2'
    assert port_name(4294967295, 100000, 100001) == 't4294967295-100000-100001'


def test_single_network_normalised_and_peers_sorted():
    host_id, local_ip, nets = normalize_networks(params())
    assert (host_id, local_ip) == (1, None)
    assert nets == [dict(key=1001, bridge='OVSTunnel1001', peers=[
        dict(host_id=2, remote_ip='192.0.2.12'), dict(host_id=3, remote_ip='192.0.2.13')])]


@pytest.mark.parametrize('bad, field, value', [
    (dict(key=0), 'key', '0'),
    (dict(key=4294967296), 'key', '4294967296'),
    (dict(key='abc'), 'key', 'abc'),
    (dict(key=True), 'key', 'True'),
    (dict(host_id=0), 'host_id', '0'),
    (dict(host_id=None), 'host_id', 'none'),   # not required in the spec (mesh_var gives it)
    (dict(peers=[dict(host_id=2, remote_ip='192.0.2.300')]), 'peers[0].remote_ip', '192.0.2.300'),
    (dict(peers=[dict(host_id=2, remote_ip='kvm2.example')]), 'peers[0].remote_ip', 'kvm2.example'),
    (dict(peers=[dict(host_id=2, remote_ip='192.0.2.0/24')]), 'peers[0].remote_ip', '192.0.2.0/24'),
    (dict(peers=[dict(host_id=1, remote_ip='192.0.2.12')]), 'peers[0].host_id', '1'),
    (dict(peers=[dict(host_id=2, remote_ip='192.0.2.12'), dict(host_id=2, remote_ip='192.0.2.13')]),
     'peers[1].host_id', '2'),
    (dict(peers=[dict(host_id=2, remote_ip='2001:db8::1'), dict(host_id=3, remote_ip='2001:DB8:0::1')]),
     'peers[1].remote_ip', '2001:DB8:0::1'),
    (dict(peers=[dict(host_id=2)]), 'peers[0]', 'host_id'),
    (dict(peers=[dict(host_id=2, remote_ip='192.0.2.12', port=4)]), 'peers[0]', 'port'),
    (dict(local_ip='2001:db8::9'), 'peers[0].remote_ip', '192.0.2.13'),
    (dict(local_ip='nope'), 'local_ip', 'nope'),
    (dict(bridge='a' * 16), 'bridge', 'a' * 16),
    (dict(key=12345678), 'bridge', 'OVSTunnel12345678'),
    (dict(networks=[]), 'networks', '1001'),
])
def test_bad_input_names_field_and_value(bad, field, value):
    with pytest.raises(ParamError) as err:
        normalize_networks(params(**bad))
    msg = str(err.value)
    assert msg.startswith(field + ':') or msg.startswith(field + '.'), msg
    assert value in msg, msg


def test_networks_form_checks_conflicts():
    base = dict(host_id=1, state='present')
    with pytest.raises(ParamError, match=r'^networks\[1\]\.key: .*1001'):
        normalize_networks(dict(base, networks=[dict(key=1001, peers=[]), dict(key=1001)]))
    with pytest.raises(ParamError, match=r'^networks\[1\]\.bridge: bridge br-a already carries'):
        normalize_networks(dict(base, networks=[dict(key=1001, bridge='br-a'),
                                                dict(key=1002, bridge='br-a')]))
    with pytest.raises(ParamError, match=r'^networks\[0\]\.peers\[1\]\.remote_ip: duplicate'):
        normalize_networks(dict(base, networks=[dict(key=7, peers=[
            dict(host_id=2, remote_ip='198.51.100.2'), dict(host_id=3, remote_ip='198.51.100.2')])]))
    with pytest.raises(ParamError, match=r'^peers: .*networks'):
        normalize_networks(dict(base, peers=PEERS, networks=[dict(key=1)]))
    with pytest.raises(ParamError, match=r'^key: one of key or networks'):
        normalize_networks(base)


def test_ipv6_peers_accepted_and_canonical():
    _h, _l, nets = normalize_networks(params(peers=[dict(host_id=2, remote_ip='2001:DB8:0::12')]))
    assert nets[0]['peers'] == [dict(host_id=2, remote_ip='2001:db8::12')]


# ---------------------------------------------------------------- planning

def test_new_network_creates_bridge_markers_and_protected_ports_in_one_op_list():
    ops, diffs = plan({})
    kinds = [op['op'] for op in ops]
    assert kinds[0] == 'add_bridge' and ops[0]['datapath_type'] == 'netdev'
    adds = [op for op in ops if op['op'] == 'add_port']
    assert [op['port'] for op in adds] == ['t1001-1-2', 't1001-1-3']
    assert adds[0]['port_columns'] == {'protected': True, 'external_ids': {OWNER_KEY: OWNER_VALUE}}
    assert adds[0]['iface_columns'] == {'type': 'gre', 'options': {'key': '1001',
                                                                   'remote_ip': '192.0.2.12'}}
    other = [op for op in ops if op['op'] == 'set' and op['column'] == 'other_config'][0]
    assert other['value'] == {'gre_key': '1001', 'is-ovs-tun-network': 'True',
                              'ovs-host-setup': '1,1,-1'}
    assert diffs[0]['before']['exists'] is False
    assert sorted(diffs[0]['after']['tunnels']) == ['t1001-1-2', 't1001-1-3']


def test_converged_network_plans_nothing():
    br = tunnel_bridge(ports=[gre_port('t1001-1-2', 1001, '192.0.2.12'),
                              gre_port('t1001-1-3', 1001, '192.0.2.13')])
    ops, diffs = plan({'OVSTunnel1001': br})
    assert ops == []
    assert diffs[0]['before'] == diffs[0]['after']


def test_stp_found_on_is_turned_off():
    br = tunnel_bridge(ports=[gre_port('t1001-1-2', 1001, '192.0.2.12'),
                              gre_port('t1001-1-3', 1001, '192.0.2.13')])
    br['stp_enable'] = True
    ops, _diffs = plan({'OVSTunnel1001': br})
    assert ops == [dict(op='set', table='Bridge', record='OVSTunnel1001', column='stp_enable',
                        value=False)]


def test_drift_is_repaired_and_unwanted_tunnels_purged_but_vm_ports_kept():
    br = tunnel_bridge(ports=[gre_port('t1001-1-2', 1001, '192.0.2.99', protected=False),
                              gre_port('t1001-1-7', 1001, '192.0.2.17', marker=False),
                              gre_port('foreign-gre', 1001, '192.0.2.18', marker=False),
                              plain_port('vnet0')])
    ops, _d = plan({'OVSTunnel1001': br}, purge='all_stale')
    assert dict(op='set', table='Interface', record='t1001-1-2', column='options',
                value={'remote_ip': '192.0.2.12'}) in ops
    assert dict(op='set', table='Port', record='t1001-1-2', column='protected', value=True) in ops
    assert dict(op='del_port', bridge='OVSTunnel1001', port='t1001-1-7') in ops
    deleted = [op['port'] for op in ops if op['op'] == 'del_port']
    assert deleted == ['t1001-1-7']  # neither vnet0 nor an unmarked, otherwise named port
    assert [op['port'] for op in ops if op['op'] == 'add_port'] == ['t1001-1-3']
    ops, _d = plan({'OVSTunnel1001': br}, purge=False)
    assert not [op for op in ops if op['op'] == 'del_port']


def test_marked_port_with_any_name_is_ours():
    assert is_tunnel_port(gre_port('odd-name', 1, '192.0.2.1'))
    assert not is_tunnel_port(gre_port('odd-name', 1, '192.0.2.1', marker=False))
    assert is_tunnel_port(gre_port('t5-1-2', 5, '192.0.2.1', marker=False))


def test_tunnel_name_taken_on_another_bridge_is_refused():
    other = tunnel_bridge(key=2002, ports=[gre_port('t1001-1-2', 1001, '192.0.2.12')])
    with pytest.raises(ParamError, match='t1001-1-2 .* already exists on bridge OVSTunnel2002'):
        plan({'OVSTunnel2002': other})


def test_state_absent_deletes_the_bridge_only_when_there():
    ops, _d = plan({'OVSTunnel1001': tunnel_bridge()}, state='absent')
    assert ops == [dict(op='del_bridge', bridge='OVSTunnel1001', ports=[])]
    assert plan({}, state='absent')[0] == []


def _absent(ports, remove_foreign=False):
    host_id, local_ip, networks = normalize_networks(params(state='absent'))
    ops, diffs = plan_networks({'OVSTunnel1001': tunnel_bridge(ports=ports)}, host_id, local_ip,
                               networks, state='absent', remove_foreign=remove_foreign)
    return ops, diffs[0]


OURS = [gre_port('t1001-1-2', 1001, '192.0.2.12'), gre_port('t1001-1-3', 1001, '192.0.2.13')]


def test_state_absent_with_only_our_tunnels_deletes_the_bridge_naming_every_port():
    ops, diff = _absent(OURS)
    assert ops == [dict(op='del_bridge', bridge='OVSTunnel1001', ports=['t1001-1-2', 't1001-1-3'])]
    assert describe_op(ops[0]) == ('delete bridge OVSTunnel1001 with its ports t1001-1-2, '
                                   't1001-1-3')
    assert diff['removed_ports'] == ['t1001-1-2', 't1001-1-3'] and diff['left_alone'] == []
    assert diff['after']['exists'] is False


def test_state_absent_keeps_a_bridge_with_a_vm_port_and_agent_tunnels():
    """Issue 22 G: absent deleted the bridge whatever made it, with the agent's tunnels and a
    VM's port, and the actions named only the bridge."""
    agent = gre_port('t1001-1-9', 1001, '192.0.2.19', marker=False)
    adopted = gre_port('t1001-1-4', 1001, '192.0.2.14', marker=False)
    adopted['external_ids'] = {ADOPTED_KEY: OWNER_VALUE}
    ops, diff = _absent(OURS + [agent, adopted, plain_port('vnet0')])
    assert ops == [dict(op='del_port', bridge='OVSTunnel1001', port='t1001-1-2'),
                   dict(op='del_port', bridge='OVSTunnel1001', port='t1001-1-3')]
    assert diff['removed_ports'] == ['t1001-1-2', 't1001-1-3']
    assert [(p['name'], p['reason']) for p in diff['left_alone']] == [
        ('t1001-1-4', "tunnel made by CloudStack's agent or by hand (adopted: managed, not "
                      'made), not by this collection'),
        ('t1001-1-9', "tunnel made by CloudStack's agent or by hand, not by this collection"),
        ('vnet0', "not a tunnel: a VM's or another port (interface type system)")]
    assert diff['after']['exists'] is True
    assert sorted(diff['after']['tunnels']) == ['t1001-1-4', 't1001-1-9']
    # asked for explicitly: everything goes, each port named
    ops, diff = _absent(OURS + [agent, plain_port('vnet0')], remove_foreign=True)
    assert ops == [dict(op='del_bridge', bridge='OVSTunnel1001',
                        ports=['t1001-1-2', 't1001-1-3', 't1001-1-9', 'vnet0'])]
    assert diff['left_alone'] == []


def test_cloudstack_markers_are_kept_not_fought():
    # The KVM agent writes gre_key=<bridge name> and ovs-host-setup="<ids>,-1"
    current = {'gre_key': 'OVSTunnel1001', 'ovs-host-setup': '2,-1'}
    markers = bridge_markers(current, 1001, 'OVSTunnel1001', 1)
    assert markers == {'gre_key': 'OVSTunnel1001', 'is-ovs-tun-network': 'True',
                       'ovs-host-setup': '1,1,2,-1'}
    assert bridge_markers(dict(markers), 1001, 'OVSTunnel1001', 1) == markers
    assert bridge_markers({'gre_key': '7'}, 1001, 'OVSTunnel1001', 1)['gre_key'] == '1001'


# ---------------------------------------------------------------- flows

def test_desired_flows_per_tunnel_and_normal():
    flows = desired_flows({'t1001-1-2': 5, 't1001-1-3': 4})
    assert flows == [
        'priority=1000,in_port=4,dl_dst=ff:ff:ff:ff:ff:ff actions=NORMAL',
        'priority=1000,ip,in_port=4,nw_dst=224.0.0.0/24 actions=NORMAL',
        'priority=1000,in_port=5,dl_dst=ff:ff:ff:ff:ff:ff actions=NORMAL',
        'priority=1000,ip,in_port=5,nw_dst=224.0.0.0/24 actions=NORMAL',
        'priority=0 actions=NORMAL']
    assert desired_flows({'t1-1-2': None})[0] == \
        'priority=1000,in_port=<t1-1-2>,dl_dst=ff:ff:ff:ff:ff:ff actions=NORMAL'


def test_normalize_flow_ignores_counters_order_and_defaults():
    dumped = (' cookie=0x0, duration=2.086s, table=0, n_packets=3, n_bytes=180, idle_age=2, '
              'priority=1000,ip,in_port=4,nw_dst=224.0.0.0/24 actions=NORMAL')
    ours = 'priority=1000,in_port=4,ip,nw_dst=224.0.0.0/24 actions=normal'
    assert normalize_flow(dumped) == normalize_flow(ours)
    assert normalize_flow(' actions=NORMAL') == (0, 32768, frozenset(), 'normal')
    # flow-mod flags are no match fields
    assert normalize_flow(' reset_counts priority=0 actions=NORMAL') == \
        normalize_flow('priority=0 actions=NORMAL')
    assert normalize_flow('NXST_FLOW reply (xid=0x4):') is None
    assert normalize_flow('table=1, priority=5 actions=drop')[0] == 1


def test_flow_diff():
    installed = ('OFPST_FLOW reply (OF1.4) (xid=0x2):\n'
                 ' reset_counts priority=1000,in_port=4,dl_dst=ff:ff:ff:ff:ff:ff actions=drop\n'
                 ' priority=0 actions=NORMAL\n')
    wanted = desired_flows({'t1001-1-2': 4})
    added, removed = flow_diff(installed, wanted)
    assert added == ['priority=1000,in_port=4,dl_dst=ff:ff:ff:ff:ff:ff actions=NORMAL',
                     'priority=1000,ip,in_port=4,nw_dst=224.0.0.0/24 actions=NORMAL']
    assert removed == ['priority=1000,in_port=4,dl_dst=ff:ff:ff:ff:ff:ff actions=drop']
    same = '\n'.join(' ' + line for line in wanted)
    assert flow_diff(same, wanted) == ([], [])


def test_local_ip_goes_into_every_tunnel_and_drift_is_seen():
    ops, _d = plan({}, local_ip='192.0.2.11')
    adds = [op for op in ops if op['op'] == 'add_port']
    assert all(op['iface_columns']['options']['local_ip'] == '192.0.2.11' for op in adds)
    br = tunnel_bridge(ports=[gre_port('t1001-1-2', 1001, '192.0.2.12'),
                              gre_port('t1001-1-3', 1001, '192.0.2.13')])
    ops, diffs = plan({'OVSTunnel1001': br}, local_ip='192.0.2.11')
    assert [op['record'] for op in ops] == ['t1001-1-2', 't1001-1-3']
    assert ops[0]['value'] == {'local_ip': '192.0.2.11'}
    assert diffs[0]['before']['tunnels']['t1001-1-2']['local_ip'] is None
    assert diffs[0]['after']['tunnels']['t1001-1-2']['local_ip'] == '192.0.2.11'
    # a local_ip no longer asked for is removed again
    br['ports']['t1001-1-2']['interfaces']['t1001-1-2']['options']['local_ip'] = '192.0.2.11'
    ops, _d = plan({'OVSTunnel1001': br})
    assert ops == [dict(op='remove_keys', table='Interface', record='t1001-1-2',
                        column='options', keys=['local_ip'])]


# ---------------------------------------------------------------- living with CloudStack's agent

def agent_setup(value, host_id):
    """What ovstunnel.py setup_ovs_bridge stores: <id>,<previous value as printed, unquoted>."""
    printed = ovs_vsctl_string(value) if value is not None else ''
    return '%d,%s' % (host_id, printed.replace('"', ''))


@pytest.mark.parametrize('stored, host_id, written', [
    (None, 5, '5,5,-1'),          # new bridge: as CloudStack's own settle
    ('', 5, '5,5,-1'),            # printed "": no piece matches
    ('-1', 5, '5,5,-1'),          # the agent's fresh bridge
    ('5', 5, '5,5,-1'),           # what earlier releases wrote: printed "5", never matched
    ('5,-1', 5, '5,5,-1'),        # after one agent setup
    ('5,5,-1', 5, '5,5,-1'),      # configured: kept as it is
    ('7,5,-1', 5, '7,5,-1'),      # configured through a middle piece: kept
    ('7,7,-1', 5, '5,5,7,7,-1'),  # another id (a re-registered host): kept, still configured
    ('3', 5, '5,5,3,-1'),
    ('5,7', 5, '5,5,7,-1'),
])
def test_host_setup_value_is_what_the_agent_calls_configured(stored, host_id, written):
    assert host_setup_value(stored, host_id) == written
    # the agent's own check, on the quoted text ovs-vsctl get prints
    assert agent_sees_setup(ovs_vsctl_string(written) + '\n', host_id)
    assert agent_considers_configured(written, host_id)
    # every id that was there is still there
    for piece in (stored or '').split(','):
        assert piece == '' or piece in written.split(',')
    # a fixed point: the module writes nothing more, the agent does not set up again
    assert host_setup_value(written, host_id) == written


def test_agent_and_module_reach_the_same_fixed_point_in_any_order():
    # the agent alone: "-1" -> "5,-1" -> "5,5,-1", then it stops
    value = '-1'
    seen = []
    while not agent_considers_configured(value, 5):
        value = agent_setup(value, 5)
        seen.append(value)
    assert seen == ['5,-1', '5,5,-1']
    # the module after the agent keeps it; the agent after the module does nothing
    assert host_setup_value(value, 5) == value
    assert host_setup_value('5,-1', 5) == '5,5,-1'
    # the value earlier releases wrote made the agent grow the list on every command
    assert agent_setup('5', 5) == '5,5' and not agent_considers_configured('5', 5)


def test_stp_is_turned_off_and_owned():
    br = tunnel_bridge(ports=[gre_port('t1001-1-2', 1001, '192.0.2.12'),
                              gre_port('t1001-1-3', 1001, '192.0.2.13')])
    br['stp_enable'] = True
    ops, diffs = plan({'OVSTunnel1001': br})
    assert ops == [dict(op='set', table='Bridge', record='OVSTunnel1001', column='stp_enable',
                        value=False)]
    assert diffs[0]['before']['stp_enable'] is True and diffs[0]['after']['stp_enable'] is False
    br['stp_enable'] = False
    assert plan({'OVSTunnel1001': br})[0] == []


def test_agent_made_bridge_and_tunnels_are_adopted_without_duplicates():
    """As the agent leaves them: gre_key=<bridge name>, STP on, "1,1,-1", plain GRE ports."""
    br = tunnel_bridge(other_config={'gre_key': 'OVSTunnel1001', 'is-ovs-tun-network': 'True',
                                     'ovs-host-setup': '1,1,-1'},
                       ports=[gre_port('t1001-1-2', 1001, '192.0.2.12', protected=False,
                                       marker=False),
                              gre_port('t1001-1-3', 1001, '192.0.2.13', protected=False,
                                       marker=False)])
    br['stp_enable'] = True
    br['external_ids'] = {}
    ops, _d = plan({'OVSTunnel1001': br})
    assert not [op for op in ops if op['op'] in ('add_port', 'del_port', 'add_bridge')]
    assert not [op for op in ops if op.get('column') == 'other_config']  # markers kept
    for name in ('t1001-1-2', 't1001-1-3'):
        assert dict(op='set', table='Port', record=name, column='protected', value=True) in ops
        assert dict(op='set', table='Port', record=name, column='external_ids',
                    value={ADOPTED_KEY: OWNER_VALUE}) in ops
    # as the database is after that run: nothing left to do
    br['stp_enable'] = False
    br['external_ids'] = {OWNER_KEY: OWNER_VALUE}
    for name in ('t1001-1-2', 't1001-1-3'):
        br['ports'][name].update(protected=True, external_ids={ADOPTED_KEY: OWNER_VALUE})
    assert plan({'OVSTunnel1001': br})[0] == []


def _gre_view(bridge):
    """``bridge`` as gre_network's session views it: of ports and interfaces GRE_COLUMNS."""
    def port(data):
        out = dict((k, data[k]) for k in GRE_COLUMNS['Port'] if k != 'interfaces')
        out['interfaces'] = dict((n, dict((k, i[k]) for k in GRE_COLUMNS['Interface']))
                                 for n, i in data['interfaces'].items())
        return out
    return dict(bridge, ports=dict((n, port(p)) for n, p in bridge['ports'].items()))


@pytest.mark.parametrize('state', ['present', 'absent'])
def test_the_plan_reads_and_writes_only_the_columns_its_session_monitors(state):
    # gre_network's session monitors GRE_COLUMNS of Port and Interface alone: a column beyond
    # them could be neither read from its rows nor written (docs/scale.md, the eighth round)
    wrong_type = gre_port('t1001-1-2', 1001, '192.0.2.99', protected=False)
    wrong_type['interfaces']['t1001-1-2']['type'] = 'vxlan'
    ports = [wrong_type, gre_port('t1001-1-7', 1001, '192.0.2.17'),
             gre_port('t1001-1-3', 1001, '192.0.2.13', protected=False, marker=False),
             gre_port('t1001-1-8', 1001, '192.0.2.18', marker=False), plain_port('vnet0')]
    whole = {'OVSTunnel1001': tunnel_bridge(ports=ports)}
    trimmed = {'OVSTunnel1001': _gre_view(whole['OVSTunnel1001'])}
    peers = PEERS + [dict(host_id=4, remote_ip='192.0.2.14')]  # a tunnel to add
    for purge in ('ours', 'all_stale'):
        ops, diffs = plan(trimmed, purge=purge, state=state, peers=peers)
        assert (ops, diffs) == plan(whole, purge=purge, state=state, peers=peers)
        kinds = set(op['op'] for op in ops)
        assert kinds <= set(['set', 'add_port', 'del_port', 'del_bridge'])
        for op in ops:
            if op['op'] == 'set' and op['table'] in GRE_COLUMNS:
                assert op['column'] in GRE_COLUMNS[op['table']], op
            if op['op'] == 'add_port':
                assert set(op['port_columns']) <= set(GRE_COLUMNS['Port'])
                assert set(op['iface_columns']) <= set(GRE_COLUMNS['Interface'])
        if state == 'present':
            assert kinds == set(['set', 'add_port', 'del_port'])
            assert set(op.get('column') for op in ops if op['op'] == 'set') >= set(
                ['type', 'options', 'protected', 'external_ids'])


def test_gre_network_opens_its_session_with_the_gre_columns(monkeypatch):
    from ansible_collections.cloudstack.ovs.plugins.modules import gre_network
    seen = []

    class Module(object):
        check_mode = False
        _verbosity = 0

        def __init__(self, argument_spec, supports_check_mode):
            self.params = dict((k, v.get('default')) for k, v in argument_spec.items())

    def context(module, lock=True, columns=None):
        seen.append((lock, columns))
        return 'the session factory'
    monkeypatch.setattr(gre_network, 'AnsibleModule', Module)
    monkeypatch.setattr(gre_network, 'ovsdb_context', context)
    monkeypatch.setattr(gre_network, 'run_module', lambda *a, **kw: seen.append(kw['context']))
    gre_network.main()
    assert seen == [(True, GRE_COLUMNS), 'the session factory']


def test_default_purge_leaves_agent_tunnels_and_says_why():
    agent_made = gre_port('t1001-1-8', 1001, '192.0.2.18', protected=False, marker=False)
    adopted = gre_port('t1001-1-9', 1001, '192.0.2.19', marker=False)
    adopted['external_ids'] = {ADOPTED_KEY: OWNER_VALUE}
    ours = gre_port('t1001-1-7', 1001, '192.0.2.17')
    br = tunnel_bridge(ports=[gre_port('t1001-1-2', 1001, '192.0.2.12'),
                              gre_port('t1001-1-3', 1001, '192.0.2.13'), agent_made, adopted, ours])
    ops, diffs = plan({'OVSTunnel1001': br})
    assert [op['port'] for op in ops if op['op'] == 'del_port'] == ['t1001-1-7']
    # left alone, but protected: STP is off on this bridge
    assert dict(op='set', table='Port', record='t1001-1-8', column='protected', value=True) in ops
    left = diffs[0]['left_alone']
    assert [t['name'] for t in left] == ['t1001-1-8', 't1001-1-9']
    assert 'not created by this collection' in left[0]['reason']
    assert 'purge=all_stale' in left[0]['reason']
    assert set(diffs[0]['after']['tunnels']) == {'t1001-1-2', 't1001-1-3', 't1001-1-8',
                                                 't1001-1-9'}
    for purge in (True, 'ours', None):
        assert plan({'OVSTunnel1001': br}, purge=purge)[0] == ops
    ops, diffs = plan({'OVSTunnel1001': br}, purge='all_stale')
    assert sorted(op['port'] for op in ops if op['op'] == 'del_port') == \
        ['t1001-1-7', 't1001-1-8', 't1001-1-9']
    assert diffs[0]['left_alone'] == []
    ops, diffs = plan({'OVSTunnel1001': br}, purge='none')
    assert not [op for op in ops if op['op'] == 'del_port']
    assert [t['name'] for t in diffs[0]['left_alone']] == ['t1001-1-7', 't1001-1-8', 't1001-1-9']
    assert 'purge=none' in diffs[0]['left_alone'][0]['reason']


@pytest.mark.parametrize('value, mode', [
    (None, 'ours'), (True, 'ours'), (False, 'none'), ('ours', 'ours'), ('ALL_STALE', 'all_stale'),
    ('none', 'none'), ('yes', 'ours'), ('False', 'none'),
])
def test_purge_values(value, mode):
    assert normalize_purge(value) == mode


def test_bad_purge_names_field_and_value():
    with pytest.raises(ParamError, match=r"^purge: .*'everything'"):
        normalize_purge('everything')


def test_parsed_flow_is_normalize_flow_remembered():
    dumped = ' cookie=0x0, duration=1.2s, reset_counts priority=1000,in_port=3 actions=NORMAL'
    first = parsed_flow(dumped)
    assert first == (normalize_flow(dumped), 'priority=1000,in_port=3 actions=NORMAL')
    assert parsed_flow(dumped) is first
    assert parsed_flow('NXST_FLOW reply (xid=0x4):') == (None, None)
    # two bridges with the same lines read alike
    text = 'NXST_FLOW reply (xid=0x4):\n' + dumped + '\n priority=0 actions=NORMAL\n'
    assert installed_flows(text) == installed_flows(text) == {
        normalize_flow(dumped): 'priority=1000,in_port=3 actions=NORMAL',
        normalize_flow('priority=0 actions=NORMAL'): 'priority=0 actions=NORMAL'}


def test_mesh_var_echoes_the_name_not_the_networks_it_gave():
    params = dict(host_id=1, mesh_var='gre_mesh_checked', timeout=60, purge='ours',
                  networks=[dict(key=1001, peers=PEERS)], key=None)
    assert mesh_invocation(params) == {'module_args': dict(
        host_id=1, mesh_var='gre_mesh_checked', timeout=60, purge='ours', key=None)}
    # networks given by the task itself: Ansible's own echo, of everything
    assert mesh_invocation(dict(params, mesh_var=None)) is None
