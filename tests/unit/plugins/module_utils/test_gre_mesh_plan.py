# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""gre_network's parse step and its whole plan: ovsdb ops, flow replacements, result and diff."""

import pytest

from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import ParamError
from ansible_collections.cloudstack.ovs.plugins.module_utils.gre import (
    FLOWS_OP,
    interfaces,
    plan_mesh,
    settle,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.gre_flows import desired_flows
from ansible_collections.cloudstack.ovs.plugins.module_utils.gre_names import (
    OWNER_KEY,
    OWNER_VALUE,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.gre_request import gre_request

BRIDGE = 'OVSTunnel1001'


def params(**kw):
    base = dict(host_id=1, key=1001, peers=[dict(host_id=2, remote_ip='192.0.2.12'),
                                            dict(host_id=3, remote_ip='192.0.2.13')],
                bridge=None, networks=None, local_ip=None, datapath_type='netdev', purge='ours',
                state='present', flows=True, ovs_rundir=None, db='unix:/run/lab/h1/db.sock',
                timeout=5)
    base.update(kw)
    return base


def iface(name, ofport, type_='gre', options=None):
    return dict(name=name, type=type_, options=dict(options or {}), ofport=ofport,
                external_ids={}, other_config={}, link_state='up', admin_state='up',
                error=None, mac_in_use=None)


def port(name, ofport, remote_ip=None):
    gre = remote_ip is not None
    return dict(name=name, tag=None, trunks=[], vlan_mode=None, protected=gre,
                external_ids={OWNER_KEY: OWNER_VALUE} if gre else {}, other_config={},
                interfaces={name: iface(name, ofport, 'gre' if gre else 'internal',
                                        dict(key='1001', remote_ip=remote_ip) if gre else {})})


def mesh_bridge(ofports=(('t1001-1-2', 4, '192.0.2.12'), ('t1001-1-3', 5, '192.0.2.13'))):
    ports = {BRIDGE: port(BRIDGE, 65534)}
    for name, ofport, remote_ip in ofports:
        ports[name] = port(name, ofport, remote_ip)
    return {BRIDGE: dict(name=BRIDGE, datapath_type='netdev', fail_mode=None, stp_enable=False,
                         other_config={'gre_key': '1001', 'is-ovs-tun-network': 'True',
                                       'ovs-host-setup': '1,1,-1'},
                         external_ids={OWNER_KEY: OWNER_VALUE}, ports=ports)}


def dump(flows):
    """``ovs-ofctl --no-names --no-stats dump-flows`` output of ``flows``."""
    return ''.join(' %s\n' % f for f in flows)


def planned(bridges, installed, **kw):
    made = plan_mesh(bridges, gre_request(params(**kw)))
    return settle(made, interfaces(bridges), installed)


def test_state_absent_with_a_vm_port_keeps_the_bridge_and_warns():
    bridges = mesh_bridge()
    bridges[BRIDGE]['ports']['vnet0'] = port('vnet0', 9)
    bridges[BRIDGE]['ports']['vnet0']['interfaces']['vnet0']['type'] = ''
    kept = planned(bridges, None, state='absent')
    assert kept.actions == ['delete port t1001-1-2 from bridge %s' % BRIDGE,
                            'delete port t1001-1-3 from bridge %s' % BRIDGE]
    change = kept.result['changes']['1001']
    assert change['ports_removed'] == ['t1001-1-2', 't1001-1-3']
    assert [p['name'] for p in change['ports_left_alone']] == ['vnet0']
    assert kept.warnings == [
        "state=absent kept bridge %s: ports this collection did not make are on it: vnet0 (not "
        "a tunnel: a VM's or another port (interface type system)); remove_foreign=true removes "
        'them with the bridge' % BRIDGE]
    forced = planned(bridges, None, state='absent', remove_foreign=True)
    assert forced.actions == ['delete bridge %s with its ports t1001-1-2, t1001-1-3, vnet0'
                              % BRIDGE]
    with pytest.raises(ParamError, match=r'^remove_foreign: only state=absent'):
        gre_request(params(remove_foreign=True))


def test_request_is_checked_once_and_normalised():
    request = gre_request(params(purge=False))
    assert request['purge'] == 'none' and request['flows'] is True
    assert request['rundir'] == '/run/lab/h1' and request['timeout'] == 5
    assert gre_request(params(state='absent'))['flows'] is False
    assert gre_request(params(ovs_rundir='/srv/ovs'))['rundir'] == '/srv/ovs'
    with pytest.raises(ParamError, match=r'^ovs_rundir: .*NUL'):
        gre_request(params(ovs_rundir='/srv/\x00ovs'))
    with pytest.raises(ParamError, match=r'^peers: peers and bridge go inside'):
        gre_request(params(key=None, networks=[dict(key=1001)]))


def test_converged_mesh_with_its_flows_plans_nothing():
    wanted = desired_flows({'t1001-1-2': 4, 't1001-1-3': 5})
    made = planned(mesh_bridge(), {BRIDGE: dump(wanted)})
    assert made.ops == [] and made.actions == [] and not made.changed
    change = made.result['changes']['1001']
    assert (change['flows_added'], change['flows_removed'], change['ports_added']) == (0, 0, [])
    assert made.tables == [dict(bridge=BRIDGE, wanted=wanted, differs=False, tunnels=[
        dict(name='t1001-1-2', peer_host_id=2, remote_ip='192.0.2.12', ofport=4,
             link_state='up', error=None),
        dict(name='t1001-1-3', peer_host_id=3, remote_ip='192.0.2.13', ofport=5,
             link_state='up', error=None)])]
    tunnels = made.result['networks'][0]['tunnels']
    assert [(t['name'], t['ofport']) for t in tunnels] == [('t1001-1-2', 4), ('t1001-1-3', 5)]
    assert 'error' not in tunnels[0]
    assert made.diff['after']['1001']['flows'] == wanted
    assert list(made.diff['after']['1001'])[-2:] == ['flows', 'left_alone']


def test_flows_that_differ_are_one_replacement_with_counts_action_and_diff():
    drop = 'priority=1000,in_port=4,dl_dst=ff:ff:ff:ff:ff:ff actions=drop'
    installed = dump(desired_flows({'t1001-1-2': 4, 't1001-1-3': 5})[2:] + [drop])
    made = planned(mesh_bridge(), {BRIDGE: installed})
    wanted = desired_flows({'t1001-1-2': 4, 't1001-1-3': 5})
    assert made.ops == [dict(op=FLOWS_OP, bridge=BRIDGE, flows=wanted)]
    assert made.actions == ['replace flows of bridge %s (2 added, 1 removed)' % BRIDGE]
    change = made.result['changes']['1001']
    assert (change['flows_added'], change['flows_removed']) == (2, 1)
    assert drop in made.diff['before']['1001']['flows']
    assert made.tables[0]['differs'] is True


def test_new_tunnel_port_flows_wait_for_its_ofport():
    bridges = mesh_bridge(ofports=[('t1001-1-2', 4, '192.0.2.12')])
    made = planned(bridges, {BRIDGE: dump(desired_flows({'t1001-1-2': 4}))})
    assert [op['op'] for op in made.ops] == ['add_port', FLOWS_OP]
    assert made.actions[-1] == 'replace flows of bridge %s (2 added, 0 removed)' % BRIDGE
    # Until ovs-vswitchd gives the port a number, the flows name it.
    assert any('in_port=<t1001-1-3>' in f for f in made.ops[-1]['flows'])
    assert made.result['changes']['1001']['ports_added'] == ['t1001-1-3']
    assert made.result['networks'][0]['tunnels'][1]['ofport'] is None


def test_flows_compared_after_the_commit_when_not_read_before():
    bridges = mesh_bridge(ofports=[('t1001-1-2', 4, '192.0.2.12')])
    made = planned(bridges, None)
    assert [op['op'] for op in made.ops] == ['add_port'] and made.tables == []
    assert 'flows' not in made.diff['after']['1001']
    assert made.result['changes']['1001']['flows_added'] == 0
    # After the commit: the new port has its ofport, the flow table is read again.
    ifaces = interfaces(bridges)
    ifaces['t1001-1-3'] = iface('t1001-1-3', 7)
    settle(made, ifaces, {BRIDGE: dump(desired_flows({'t1001-1-2': 4}))})
    wanted = desired_flows({'t1001-1-2': 4, 't1001-1-3': 7})
    assert [op['op'] for op in made.ops] == ['add_port', FLOWS_OP]
    assert made.ops[-1]['flows'] == wanted and made.db_ops == made.ops[:1]
    assert made.actions[0].startswith('add port t1001-1-3')
    assert made.actions[1:] == ['replace flows of bridge %s (2 added, 0 removed)' % BRIDGE]
    assert made.result['networks'][0]['tunnels'][1]['ofport'] == 7
    assert made.diff['after']['1001']['flows'] == wanted


def test_new_bridge_is_compared_as_empty_and_absent_has_no_flows():
    made = planned({}, {})
    assert made.result['changes']['1001']['flows_added'] == 5
    assert made.diff['before']['1001']['flows'] == []
    gone = planned(mesh_bridge(), None, state='absent')
    assert gone.ops == [dict(op='del_bridge', bridge=BRIDGE, ports=['t1001-1-2', 't1001-1-3'])]
    assert gone.tables == [] and gone.warnings == []
    assert gone.actions == ['delete bridge %s with its ports t1001-1-2, t1001-1-3' % BRIDGE]
    assert gone.result['changes']['1001']['ports_removed'] == ['t1001-1-2', 't1001-1-3']
    assert gone.result['networks'] == [dict(key=1001, bridge=BRIDGE, state='absent',
                                            tunnel_count=0, tunnels=[])]
    off = planned(mesh_bridge(), None, flows=False)
    assert off.ops == [] and off.tables == [] and 'flows' not in off.diff['after']['1001']


@pytest.mark.parametrize('value, verbosity, listed', [
    ('always', 0, True), (None, 0, True), ('verbose', 0, False), ('verbose', 1, True),
    ('verbose', 3, True), ('never', 4, False)])
def test_return_tunnels_leaves_out_the_list_not_the_count_nor_the_changes(
        value, verbosity, listed):
    made = plan_mesh({}, gre_request(params(return_tunnels=value), verbosity))
    settle(made, {}, {})
    network = made.result['networks'][0]
    assert network['tunnel_count'] == 2
    assert ('tunnels' in network) is listed
    assert made.result['changes']['1001']['ports_added'] == ['t1001-1-2', 't1001-1-3']
    assert 'add port t1001-1-3 to bridge %s' % BRIDGE in made.actions


def test_bad_return_tunnels_names_the_field_and_value():
    with pytest.raises(ParamError, match=r"^return_tunnels: must be one of always, verbose, "
                                         r"never \(got 'sometimes'\)"):
        gre_request(params(return_tunnels='sometimes'))
