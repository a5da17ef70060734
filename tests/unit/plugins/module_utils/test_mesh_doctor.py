# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The mesh doctor's pure analysis: trace and fdb parsing, findings per kind, pair matrix,
report and picture."""

import copy
import json

import pytest

from ansible_collections.cloudstack.ovs.plugins.module_utils import (
    mesh_doctor,
    mesh_reading,
    mesh_report,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import ParamError
from ansible_collections.cloudstack.ovs.plugins.module_utils.gre_flows import desired_flows
from ansible_collections.cloudstack.ovs.plugins.module_utils.mesh_picture import mesh_dot

FIX = 'ansible-playbook cloudstack.ovs.gre_mesh --limit '
IP = {'kvm1': '192.0.2.11', 'kvm2': '192.0.2.12', 'kvm3': '192.0.2.13'}

# Real ovs-appctl ofproto/trace output (Open vSwitch 3.1, userspace datapath), shortened.
TRACE_LOCAL = ('''Flow: in_port=LOCAL,vlan_tci=0x0000,dl_src=02:00:00:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff

bridge("OVSTunnel1001")
-----------------------
 0. priority 0
    NORMAL
     -> no learned MAC for destination, flooding
     -> output to native tunnel
     -> tunneling to 192.0.2.12 via cloudbr0

Final flow: unchanged
{ACTIONS}
''').format(ACTIONS=(
    'Datapath actions: clone(tnl_push(tnl_port(4),header(size=42,type=3,eth(dst=ca:6c:ff:10:b9:'
    'e1,src=22:9b:a7:52:8d:2a,dl_type=0x0800),ipv4(src=192.0.2.11,dst=192.0.2.12,proto=47,tos=0'
    ',ttl=64,frag=0x4000),gre((flags=0x2000,proto=0x6558),key=0x3e9)),out_port(2)),1),clone(tnl'
    '_push(tnl_port(4),header(size=42,type=3,eth(dst=0a:1f:52:9f:a0:52,src=22:9b:a7:52:8d:2a,dl'
    '_type=0x0800),ipv4(src=192.0.2.11,dst=192.0.2.13,proto=47,tos=0,ttl=64,frag=0x4000),gre((f'
    'lags=0x2000,proto=0x6558),key=0x3e9)),out_port(2)),1),5'
))
TRACE_FROM_TUNNEL = '''Flow: in_port=1,vlan_tci=0x0000,dl_src=02:00:00:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff

bridge("OVSTunnel1001")
-----------------------
 0. priority 0
    NORMAL
     -> no learned MAC for destination, flooding
     >> Flow is between protected ports, skipping output.

Final flow: unchanged
Datapath actions: 3,5
'''
TRACE_KERNEL = ('Datapath actions: set(tunnel(tun_id=0x3e9,dst=192.0.2.12,ttl=64,tp_dst=0,'
                'flags(df|key))),3,set(tunnel(tun_id=0x3e9,dst=192.0.2.13,ttl=64,tp_dst=0,'
                'flags(df|key))),3\n')
FDB = ''' port  VLAN  MAC                Age
    1     0  6e:3f:d7:41:a0:c9    2
    2     0  d6:42:78:93:6d:0c    1
LOCAL     0  9a:41:36:7b:de:47    1
'''


def test_parse_trace_userspace_kernel_and_protected():
    local = mesh_reading.parse_trace(TRACE_LOCAL)
    assert local['tunnels'] == [dict(remote_ip='192.0.2.12', key='1001'),
                                dict(remote_ip='192.0.2.13', key='1001')]
    from_tunnel = mesh_reading.parse_trace(TRACE_FROM_TUNNEL)
    assert from_tunnel['tunnels'] == [] and from_tunnel['actions'] == '3,5'
    assert from_tunnel['notes'] == ['Flow is between protected ports, skipping output.']
    kernel = mesh_reading.parse_trace(TRACE_KERNEL)
    assert [t['remote_ip'] for t in kernel['tunnels']] == ['192.0.2.12', '192.0.2.13']
    assert all(t['key'] == '1001' for t in kernel['tunnels'])


def test_parse_trace_keeps_every_copy_of_a_long_broadcast_and_shortens_its_text():
    # a zone-sized broadcast: one kernel-datapath copy per peer, 127 peers
    copy = 'set(tunnel(tun_id=0x3e9,dst=192.0.2.%d,ttl=64,tp_dst=0,flags(df|key))),3'
    actions = ','.join(copy % (i + 1) for i in range(127))
    trace = mesh_reading.parse_trace('Datapath actions: %s\n' % actions)
    assert [t['remote_ip'] for t in trace['tunnels']] == ['192.0.2.%d' % (i + 1)
                                                          for i in range(127)]
    limit = mesh_reading.ACTIONS_MAX
    assert len(actions) > limit
    more = len(actions) - limit
    assert trace['actions'] == '%s ... (%d characters more)' % (actions[:limit], more)
    assert mesh_reading.shortened('3,5') == '3,5'
    assert mesh_reading.shortened('x' * limit) == 'x' * limit


def test_parse_fdb():
    assert mesh_reading.parse_fdb(FDB) == [
        dict(port=1, vlan=0, mac='6e:3f:d7:41:a0:c9'), dict(port=2, vlan=0, mac='d6:42:78:93:6d:0c'),
        dict(port='LOCAL', vlan=0, mac='9a:41:36:7b:de:47')]


def test_ovs_addresses_marks_bridge_devices():
    ip_json = [
        {'ifname': 'eth0', 'addr_info': [{'family': 'inet', 'local': '10.0.0.1', 'prefixlen': 8}]},
        {'ifname': 'cloudbr0', 'addr_info': [
            {'family': 'inet', 'local': '192.0.2.11', 'prefixlen': 24, 'scope': 'global'},
            {'family': 'inet6', 'local': 'fe80::1', 'prefixlen': 64, 'scope': 'link'}]}]
    assert mesh_reading.ovs_addresses(ip_json, {'cloudbr0', 'OVSTunnel1001'}) == [
        dict(ifname='eth0', address='10.0.0.1', prefixlen=8, ovs=False),
        dict(ifname='cloudbr0', address='192.0.2.11', prefixlen=24, ovs=True)]


def test_tunnel_bridge_and_key_detection():
    assert mesh_reading.bridge_key(dict(name='OVSTunnel1001')) == 1001
    assert mesh_reading.bridge_key(dict(name='br-x', other_config={'gre_key': 'OVSTunnel7'})) == 7
    assert mesh_reading.bridge_key(dict(name='br-x', other_config={})) is None
    assert mesh_reading.is_tunnel_bridge(dict(name='OVSTunnel5', ports={}))
    assert mesh_reading.is_tunnel_bridge(dict(name='gre0', ports={'t5-1-2': {}}))
    assert not mesh_reading.is_tunnel_bridge(dict(name='cloudbr0', ports={'eth0': {}}))


# ---------------------------------------------------------------- a zone built by hand

def _port(name, type_='gre', options=None, ofport=1, protected=True):
    # as gre_mesh_info returns it (gre_names.GRE_COLUMNS of the port and its interface)
    return dict(name=name, protected=protected,
                external_ids={'cloudstack-ovs-owner': 'gre_network'},
                interfaces={name: dict(name=name, type=type_, options=options or {},
                                       ofport=ofport, link_state='up', error=None)})


def _bridge(host_id, key, peers):
    name = 'OVSTunnel%d' % key
    ports = {name: _port(name, 'internal', ofport=65534, protected=False)}
    ofports = {}
    for i, (peer_id, ip) in enumerate(peers):
        pname = 't%d-%d-%d' % (key, host_id, peer_id)
        ports[pname] = _port(pname, options=dict(key=str(key), remote_ip=ip), ofport=i + 1)
        ofports[pname] = i + 1
    push = [dict(remote_ip=ip, key=str(key)) for _i, ip in peers]
    return dict(
        name=name, datapath_type='netdev', fail_mode=None, stp_enable=False, rstp_enable=False,
        controllers=[], other_config={'gre_key': str(key), 'is-ovs-tun-network': 'True',
                                      'ovs-host-setup': '-1,%d,-1' % host_id},
        external_ids={}, ports=ports, flows=desired_flows(ofports), flows_error=None,
        trace=dict(broadcast=dict(tunnels=push, actions='', notes=[]),
                   from_tunnels=[dict(port=p, tunnels=[], actions='', notes=[])
                                 for p in sorted(ofports)],
                   unicast=[dict(mac='02:00:00:00:0%d:01' % pid, port='t%d-%d-%d'
                                 % (key, host_id, pid), tunnels=[dict(remote_ip=ip, key=str(key))],
                                 actions='', notes=[]) for pid, ip in peers],
                   error=None))


def zone(keys=(1001,)):
    hosts = []
    for index, name in enumerate(sorted(IP)):
        host_id = index + 1
        peers = [(i + 1, IP[n]) for i, n in enumerate(sorted(IP)) if n != name]
        info = dict(host_id=host_id, addresses=[
            dict(ifname='cloudbr0', address=IP[name], prefixlen=24, ovs=True)],
            bridges=dict(('OVSTunnel%d' % k, _bridge(host_id, k, peers)) for k in keys))
        hosts.append(dict(name=name, host_id=host_id, underlay_ip=IP[name], networks=list(keys),
                          info=info))
    return hosts


def bridge(hosts, name, key=1001):
    return next(h for h in hosts if h['name'] == name)['info']['bridges']['OVSTunnel%d' % key]


def kinds(result):
    return sorted(set((f['kind'], f['host'], f['network']) for f in result['findings']))


def test_clean_zone_is_clean():
    result = mesh_doctor.diagnose(zone(keys=(1001, 1002)))
    assert result['findings'] == [] and result['clean']
    assert all(p['ok'] for net in result['networks'].values() for p in net['pairs'])
    assert len(result['networks'][1001]['pairs']) == 3


def test_deleted_tunnel_is_missing_and_breaks_only_its_pair():
    hosts = zone()
    br = bridge(hosts, 'kvm1')
    del br['ports']['t1001-1-2']
    br['trace']['broadcast']['tunnels'] = [dict(remote_ip=IP['kvm3'], key='1001')]
    result = mesh_doctor.diagnose(hosts)
    assert kinds(result) == [('trace-broadcast', 'kvm1', 1001), ('tunnel-missing', 'kvm1', 1001)]
    missing = [f for f in result['findings'] if f['kind'] == 'tunnel-missing'][0]
    assert missing['fix'] == FIX + 'kvm1' and missing['peer'] == 'kvm2'
    assert missing['port'] == 't1001-1-2'
    pairs = dict(((p['a'], p['b']), p['ok']) for p in result['networks'][1001]['pairs'])
    assert pairs == {('kvm1', 'kvm2'): False, ('kvm1', 'kvm3'): True, ('kvm2', 'kvm3'): True}


def test_wrong_remote_ip_names_whose_address_it_is():
    hosts = zone()
    options = bridge(hosts, 'kvm2')['ports']['t1001-2-3']['interfaces']['t1001-2-3']['options']
    options['remote_ip'] = IP['kvm1']
    result = mesh_doctor.diagnose(hosts)
    found = [f for f in result['findings'] if f['kind'] == 'tunnel-wrong-remote-ip']
    assert len(found) == 1 and found[0]['host'] == 'kvm2' and found[0]['peer'] == 'kvm3'
    assert "192.0.2.11 is kvm1's address" in found[0]['what']
    assert found[0]['fix'] == FIX + 'kvm2'


@pytest.mark.parametrize('change, kind, fix', [
    (lambda b: b.update(stp_enable=True), 'stp-on', FIX + 'kvm3'),
    (lambda b: b.update(rstp_enable=True), 'stp-on',
     'on kvm3: ovs-vsctl set Bridge OVSTunnel1001 rstp_enable=false'),
    (lambda b: b.update(fail_mode='secure'), 'fail-mode-secure',
     'on kvm3: ovs-vsctl del-fail-mode OVSTunnel1001'),
    (lambda b: b.update(flows=['priority=0 actions=NORMAL']), 'flows-missing', FIX + 'kvm3'),
    (lambda b: b.update(flows=b['flows'] + ['priority=1000,in_port=1,dl_dst=ff:ff:ff:ff:ff:ff '
                                            'actions=drop']), 'flows-differ', FIX + 'kvm3'),
    (lambda b: b['ports']['t1001-3-1'].update(protected=False), 'tunnel-not-protected',
     FIX + 'kvm3'),
    (lambda b: b['ports']['t1001-3-1']['interfaces']['t1001-3-1']['options'].update(key='7'),
     'tunnel-wrong-key', FIX + 'kvm3'),
    (lambda b: b['ports']['t1001-3-1']['interfaces']['t1001-3-1'].update(type='vxlan'),
     'tunnel-wrong-type', FIX + 'kvm3'),
    (lambda b: b['ports']['t1001-3-1']['interfaces']['t1001-3-1'].update(
        error='could not add network device'), 'tunnel-error', FIX + 'kvm3'),
    (lambda b: b['ports']['t1001-3-1']['interfaces']['t1001-3-1']['options'].update(
        local_ip='192.0.2.99'), 'endpoint-mismatch', FIX + 'kvm3'),
    (lambda b: b['trace']['from_tunnels'][0].update(
        tunnels=[dict(remote_ip=IP['kvm2'], key='1001')]), 'trace-tunnel-to-tunnel',
     FIX + 'kvm3'),
    (lambda b: b['trace']['unicast'][0].update(tunnels=[]), 'trace-unicast', FIX + 'kvm3'),
    (lambda b: b['trace']['broadcast']['tunnels'].append(dict(remote_ip=IP['kvm1'], key='1001')),
     'trace-broadcast', FIX + 'kvm3'),
])
def test_each_bridge_fault_is_named_with_its_fix(change, kind, fix):
    hosts = zone()
    change(bridge(hosts, 'kvm3'))
    result = mesh_doctor.diagnose(hosts)
    found = [f for f in result['findings'] if f['kind'] == kind]
    assert found and all(f['host'] == 'kvm3' and f['network'] == 1001 for f in found), \
        result['findings']
    assert found[0]['fix'] == fix
    assert not result['clean']
    assert set(f['host'] for f in result['findings']) == {'kvm3'}


def test_unicast_flooded_because_the_mac_aged_out_is_no_finding():
    hosts = zone()
    entry = bridge(hosts, 'kvm1')['trace']['unicast'][0]
    entry['tunnels'] = [dict(remote_ip=IP['kvm3'], key='1001'), dict(remote_ip=IP['kvm2'], key='1001')]
    assert mesh_doctor.diagnose(hosts)['findings'] == []
    entry['tunnels'] = [dict(remote_ip=IP['kvm3'], key='1001')] if entry['port'].endswith('-2') \
        else [dict(remote_ip=IP['kvm2'], key='1001')]
    assert kinds(mesh_doctor.diagnose(hosts)) == [('trace-unicast', 'kvm1', 1001)]


def test_stale_flows_of_a_deleted_port_are_ignored():
    hosts = zone()
    br = bridge(hosts, 'kvm1')
    br['flows'] = br['flows'] + ['priority=1000,in_port=9,dl_dst=ff:ff:ff:ff:ff:ff actions=NORMAL']
    assert mesh_doctor.diagnose(hosts)['findings'] == []


def test_endpoint_not_on_an_ovs_bridge_breaks_every_pair_of_that_host():
    hosts = zone(keys=(1001, 1002))
    hosts[1]['info']['addresses'] = [dict(ifname='eth0', address=IP['kvm2'], prefixlen=24,
                                          ovs=False)]
    result = mesh_doctor.diagnose(hosts)
    assert kinds(result) == [('endpoint-not-on-ovs', 'kvm2', None)]
    assert 'held on eth0, not an OVS bridge' in result['findings'][0]['what']
    assert 'cloudstack.ovs.kvm_host --limit kvm2' in result['findings'][0]['fix']
    for key in (1001, 1002):
        pairs = dict(((p['a'], p['b']), p['ok']) for p in result['networks'][key]['pairs'])
        assert pairs == {('kvm1', 'kvm2'): False, ('kvm1', 'kvm3'): True,
                         ('kvm2', 'kvm3'): False}


def test_missing_network_extra_network_and_unreadable_host():
    hosts = zone(keys=(1001, 1002))
    del hosts[2]['info']['bridges']['OVSTunnel1002']          # kvm3 never got 1002
    hosts[0]['networks'] = [1001]                              # kvm1 no longer carries 1002
    hosts[1]['info'] = None                                    # kvm2 unreachable
    hosts[1]['error'] = 'Failed to connect to the host via ssh'
    result = mesh_doctor.diagnose(hosts)
    got = kinds(result)
    assert ('bridge-missing', 'kvm3', 1002) in got
    assert ('network-extra', 'kvm1', 1002) in got
    assert ('host-unreadable', 'kvm2', None) in got
    extra = [f for f in result['findings'] if f['kind'] == 'network-extra'][0]
    assert extra['severity'] == 'warning' and 'state=absent' in extra['fix']
    # kvm1 still has tunnels to kvm2/kvm3 in 1002 bridges, but that network is no longer its
    assert result['networks'][1002]['hosts'] == ['kvm2', 'kvm3']
    unreadable = [f for f in result['findings'] if f['kind'] == 'host-unreadable'][0]
    assert 'ssh' in unreadable['what']


def test_readings_returned_as_json_are_read_as_the_values_they_hold():
    hosts = zone(keys=(1001, 1002))
    as_json = [dict(h, info=dict(changed=False, failed=False, host_id=h['host_id'],
                                 reading_json=json.dumps(h['info'])))
               for h in hosts]
    assert mesh_doctor.diagnose(as_json) == mesh_doctor.diagnose(hosts)
    del bridge(hosts, 'kvm1')['ports']['t1001-1-2']
    as_json[0]['info']['reading_json'] = json.dumps(hosts[0]['info'])
    assert kinds(mesh_doctor.diagnose(as_json)) == kinds(mesh_doctor.diagnose(hosts)) != []


@pytest.mark.parametrize('text, why', [
    ('{"bridges": {', 'reading_json: not JSON ('),
    ('[]', 'reading_json: not a gre_mesh_info reading (no bridges)'),
    ('{"host_id": 2}', 'reading_json: not a gre_mesh_info reading (no bridges)'),
])
def test_a_reading_json_that_is_no_reading_makes_the_host_unreadable(text, why):
    hosts = zone()
    hosts[1]['info'] = dict(changed=False, host_id=2, reading_json=text)
    result = mesh_doctor.diagnose(hosts)
    unreadable = [f for f in result['findings'] if f['kind'] == 'host-unreadable']
    assert [f['host'] for f in unreadable] == ['kvm2']
    assert unreadable[0]['what'].startswith('kvm2: ' + why)
    assert mesh_reading.decode_reading(hosts[1]['info'])[0] is None


def test_tunnel_to_a_host_that_is_no_peer_is_extra():
    hosts = zone()
    hosts[2]['networks'] = []                                  # kvm3 left network 1001
    hosts[2]['info']['bridges'] = {}
    result = mesh_doctor.diagnose(hosts)
    assert ('tunnel-extra', 'kvm1', 1001) in kinds(result)
    assert ('tunnel-extra', 'kvm2', 1001) in kinds(result)
    assert ('trace-broadcast', 'kvm1', 1001) in kinds(result)  # a copy still goes to kvm3


def test_agent_view_is_a_warning_by_the_agents_own_rule():
    hosts = zone()
    bridge(hosts, 'kvm2')['other_config']['ovs-host-setup'] = '2'   # printed "2": no match
    result = mesh_doctor.diagnose(hosts)
    assert kinds(result) == [('agent-not-configured', 'kvm2', 1001)]
    assert result['clean'] and result['warnings'] == 1
    assert result['findings'][0]['fix'] == FIX + 'kvm2'


def test_trace_failure_is_a_warning():
    hosts = zone()
    bridge(hosts, 'kvm1')['trace'] = dict(error='ovs-appctl: cannot connect')
    result = mesh_doctor.diagnose(hosts)
    assert kinds(result) == [('trace-failed', 'kvm1', 1001)] and result['clean']


def test_a_list_the_playbook_got_wrong_is_refused():
    with pytest.raises(ParamError, match=r'^hosts\[1\]\.name: duplicate'):
        mesh_doctor.diagnose([dict(name='a', host_id=1, underlay_ip='192.0.2.1'),
                              dict(name='a', host_id=2, underlay_ip='192.0.2.2')])
    with pytest.raises(ParamError, match=r'^hosts\[0\]: must be a dictionary with a name'):
        mesh_doctor.diagnose([dict(host_id=1)])
    with pytest.raises(ParamError, match=r'^hosts:'):
        mesh_doctor.diagnose([])


def _agent_tunnel(hosts, name, pname, remote_ip, key=1001, ofport=9):
    """A tunnel as CloudStack's agent adds it (no owner marker), with its copy in the traces."""
    br = bridge(hosts, name, key)
    port = _port(pname, options=dict(key=str(key), remote_ip=remote_ip), ofport=ofport)
    port['external_ids'] = {}
    br['ports'][pname] = port  # no flows of its own: the agent adds none, gre_network neither
    br['trace']['broadcast']['tunnels'].append(dict(remote_ip=remote_ip, key=str(key)))
    br['trace']['from_tunnels'].append(dict(port=pname, tunnels=[], actions='', notes=[]))


def test_agent_tunnel_to_a_host_outside_the_inventory_is_a_finding_not_a_crash():
    """Issue 22 E: t1001-2-9, made by the agent, kept by purge ours; it crashed the doctor in
    the host-pair ordering ('<=' between str and NoneType) and no report was written."""
    hosts = zone()
    _agent_tunnel(hosts, 'kvm2', 't1001-2-9', '192.0.2.99')
    result = mesh_doctor.diagnose(copy.deepcopy(hosts))
    assert kinds(result) == [('tunnel-unknown-host', 'kvm2', 1001)]
    finding = result['findings'][0]
    assert finding['severity'] == 'warning' and finding['port'] == 't1001-2-9'
    assert finding['what'].startswith(
        "kvm2: tunnel t1001-2-9 to host 9 (192.0.2.99), not in the inventory: CloudStack's "
        'agent made it, or a host was removed')
    assert 'cloudstack_host_id 9' in finding['fix'] and 'cloudstack_gre_purge=all_stale' in \
        finding['fix']
    assert result['clean'] and all(p['ok'] for p in result['networks'][1001]['pairs'])
    text = mesh_report.markdown(result)
    assert '`tunnel-unknown-host`' in text and 'host 9' in text
    mesh_report.picture(result)


def test_unknown_tunnel_to_an_inventory_address_says_whose_it_is():
    hosts = zone()
    _agent_tunnel(hosts, 'kvm1', 't1001-1-7', IP['kvm3'])
    result = mesh_doctor.diagnose(hosts)
    hits = [f for f in result['findings'] if f['kind'] == 'tunnel-unknown-host']
    assert len(hits) == 1 and 'the address of kvm3' in hits[0]['what']


BAD_INVENTORY = [
    # F: map('int') made "1001" and ["abc"] into 0: "must be between 1 and 4294967295 (got 0)"
    ('networks a string', dict(networks='1001'),
     "cloudstack_gre_networks of kvm2: must be a list of GRE keys (got '1001')"),
    ('networks not keys', dict(networks=['abc']),
     "cloudstack_gre_networks of kvm2: must be an integer (got 'abc')"),
    ('no underlay ip', dict(underlay_ip=None),
     'cloudstack_underlay_ip of kvm2: is not set; kvm2 carries GRE network(s) 1001'),
    ('id 2.7', dict(host_id=2.7), 'cloudstack_host_id of kvm2: must be an integer (got 2.7)'),
    ('duplicate id', dict(host_id=1),
     'cloudstack_host_id of kvm2: 1 is also the cloudstack_host_id of kvm1; each host needs '
     'its own'),
    ('address 192.0.2.300', dict(underlay_ip='192.0.2.300'),
     "cloudstack_underlay_ip of kvm2: '192.0.2.300' is not an IPv4 or IPv6 address literal"),
    ('local ip', dict(local_ip='nowhere'),
     "cloudstack_gre_local_ip of kvm2: 'nowhere' is not an IPv4 or IPv6 address literal"),
]


@pytest.mark.parametrize('label,change,message', BAD_INVENTORY,
                         ids=[b[0] for b in BAD_INVENTORY])
def test_a_bad_inventory_entry_is_reported_and_the_rest_checked(label, change, message):
    """Issue 22 F: the doctor checks its inventory as gre_mesh.yml does and still reports."""
    hosts = zone()
    hosts[1].update(change)
    result = mesh_doctor.diagnose(hosts)
    assert kinds(result) == [('inventory-invalid', 'kvm2', None)], result['findings']
    finding = result['findings'][0]
    assert finding['what'] == message + '; kvm2 was not checked'
    assert 'of kvm2 in the inventory' in finding['fix']
    assert not result['clean'] and result['unchecked'] == [dict(name='kvm2', why=message)]
    # the others are checked, between themselves; tunnels to kvm2 are not judged
    assert [h['name'] for h in result['hosts']] == ['kvm1', 'kvm3']
    assert [(p['a'], p['b'], p['ok']) for p in result['networks'][1001]['pairs']] == \
        [('kvm1', 'kvm3', True)]
    text = mesh_report.markdown(result)
    assert 'Not checked, their inventory entry is wrong (see `inventory-invalid`): kvm2.' in text
    assert '`inventory-invalid`' in text


def test_an_inventory_with_no_valid_host_still_gives_a_report():
    hosts = zone()
    for host in hosts:
        host['host_id'] = 'x'
    result = mesh_doctor.diagnose(hosts)
    assert [f['host'] for f in result['findings']] == ['kvm1', 'kvm2', 'kvm3']
    assert result['hosts'] == [] and result['networks'] == {}
    assert 'BROKEN: 3 error(s)' in mesh_report.markdown(result)


def test_report_has_findings_table_matrix_and_picture():
    hosts = zone()
    del bridge(hosts, 'kvm1')['ports']['t1001-1-2']
    result = mesh_doctor.diagnose(copy.deepcopy(hosts))
    text = mesh_report.markdown(result)
    assert text.startswith('# Mesh doctor report\n\nBROKEN: 1 error(s)')
    assert '| error | kvm1 | 1001 | `tunnel-missing` |' in text
    assert '`ansible-playbook cloudstack.ovs.gre_mesh --limit kvm1` |' in text
    assert '| kvm1 | - | broken: kvm1: tunnel missing | ok |' in text
    assert '![GRE mesh](mesh.svg)' in text
    dot = mesh_report.picture(result)
    assert dot.count('#d62728') == 2  # the broken link: line and label
    assert dot.count('color="#2ca02c"') == 2
    clean = mesh_report.markdown(mesh_doctor.diagnose(zone()), image='')
    assert 'CLEAN' in clean and 'None.' in clean and '![' not in clean


def test_mesh_dot_quotes_and_draws_vms():
    hosts = [dict(id='h1', label='h1', networks=[
        dict(key=5, label='OVSTunnel5', vm_label='VM 203.0.113.1')])]
    dot = mesh_dot('t "1"', hosts, [dict(key=5, a='h1', b='h1', ok=False, label='a\\nb')])
    assert 'label="t \\"1\\""' in dot
    assert '"h1_vm_5" -- "h1_br_5";' in dot
    assert 'label="a\\nb"' in dot and dot.startswith('graph mesh {')


@pytest.mark.parametrize('change, kind', [
    (lambda b, p: b.update(flows=[f for f in b['flows']
                                  if not f.startswith('priority=1000,in_port=%d,dl_dst' % p)]),
     'flows-missing'),
    (lambda b, p: b['ports']['t1001-3-2'].update(protected=False), 'tunnel-not-protected'),
])
def test_the_split_horizon_of_an_untraced_tunnel_is_still_checked(change, kind):
    """max_tunnel_traces: a tunnel whose broadcast was not traced is still checked through its
    flows and its protected flag, and the report says from how many tunnels it traced."""
    hosts = zone()
    br = bridge(hosts, 'kvm3')
    ofport = br['ports']['t1001-3-2']['interfaces']['t1001-3-2']['ofport']
    br['trace']['tunnel_count'] = 2
    br['trace']['from_tunnels'] = [e for e in br['trace']['from_tunnels']
                                   if e['port'] != 't1001-3-2']
    clean = mesh_doctor.diagnose(copy.deepcopy(hosts))
    assert clean['clean'] and clean['tunnel_traces'] == dict(traced=5, tunnels=6)
    assert 'from 5 of 6 tunnel ports' in mesh_report.markdown(clean, image='')
    change(br, ofport)
    result = mesh_doctor.diagnose(hosts)
    assert [(f['kind'], f['host']) for f in result['findings']] == [(kind, 'kvm3')]


def matrix(count, broken=(), keys=(1001,)):
    """A diagnosed zone of ``count`` hosts, every pair of one of ``broken`` broken."""
    names = ['kvm%d' % i for i in range(1, count + 1)]
    pairs = [dict(a=a, b=b, ok=not {a, b} & set(broken), why=[] if not {a, b} & set(broken)
                  else ['%s: unreadable' % (a if a in broken else b)])
             for i, a in enumerate(names) for b in names[i + 1:]]
    return dict(hosts=[dict(name=n, host_id=i, underlay_ip='192.0.2.%d' % i, networks=list(keys))
                       for i, n in enumerate(names, 1)],
                networks=dict((key, dict(hosts=names, pairs=[dict(p) for p in pairs]))
                              for key in keys),
                findings=[], clean=not broken, errors=len(broken), warnings=0)


def test_picture_draws_every_link_up_to_the_threshold():
    result = matrix(89, broken=['kvm1'])  # 3,916 links
    assert len(result['networks'][1001]['pairs']) <= mesh_report.PICTURE_MAX_LINKS
    drawn, left_out = mesh_report.picture_links(result)
    assert len(drawn) == 3916 and left_out is None
    dot = mesh_report.picture(result)
    assert dot.count(' -- ') == 3916 and dot.count('color="#2ca02c"') == 3916 - 88
    assert 'left out' not in dot and 'left out' not in mesh_report.markdown(result)


def test_picture_above_the_threshold_draws_hosts_and_broken_links_only():
    result = matrix(91, broken=['kvm1'])  # 4,095 links, 90 of them broken
    assert len(result['networks'][1001]['pairs']) > mesh_report.PICTURE_MAX_LINKS
    drawn, left_out = mesh_report.picture_links(result)
    assert [pair['ok'] for _key, pair in drawn] == [False] * 90
    assert left_out == dict(ok=4005, broken=0, links=4095, max=mesh_report.PICTURE_MAX_LINKS,
                            max_broken=mesh_report.PICTURE_MAX_BROKEN)
    dot = mesh_report.picture(result)
    assert dot.count(' -- ') == 90 and 'color="#2ca02c"' not in dot
    assert dot.count('"kvm1_br_1001" -- ') == 90
    assert dot.count('subgraph') == 91 and '"kvm91_br_1001" [' in dot  # every host and bridge
    title = ('90 of 4095 links drawn: above 4000 links only broken ones; 4005 working links '
             'left out')
    assert title in dot
    text = mesh_report.markdown(result)
    assert 'The picture: %s' % title in text and 'every pair is in the tables' in text
    assert text.count('broken: kvm1: unreadable') == 2 * 90  # the matrix keeps every pair


def test_picture_above_the_threshold_bounds_the_broken_links_too():
    result = matrix(10, broken=['kvm1', 'kvm2'], keys=(1001, 1002))  # 90 links, 34 broken
    drawn, left_out = mesh_report.picture_links(result, max_links=20, max_broken=30)
    assert len(drawn) == 30 and not any(pair['ok'] for _key, pair in drawn)
    assert left_out == dict(ok=56, broken=4, links=90, max=20, max_broken=30)
    assert mesh_report.left_out_text(left_out) == (
        '30 of 90 links drawn: above 20 links only broken ones; 56 working links left out, '
        'and 4 broken ones past the first 30')
    assert mesh_report.picture_links(result, max_links=90) == (
        list(mesh_report._links(result)), None)  # pylint: disable=protected-access
    assert mesh_report.left_out_text(None) == ''
