# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""gre_mesh_info on one real switch whose underlay (cloudbr0, userspace datapath) reaches its
peers' addresses in a namespace of their own: OVS native tunnels find their neighbours by ARP.

An idle tunnel's neighbour entry ages out (or is flushed): a trace of a broadcast then finds
"neighbor cache miss ... sending ARP request" - and ovs-vswitchd really sends that request.
The module traces such a broadcast once more after a short wait, so that only a peer that
never answers is missing from it. The traces from the tunnels are bounded per bridge.
"""

import json
import secrets

import pytest

from conftest import run_module
from testbed.proc import remove_netns, run

PEERS = ['192.0.2.%d' % i for i in range(2, 8)]  # answered by the peers' namespace
SILENT = '192.0.2.200'  # nobody holds it: ARP requests go unanswered
KEYS = (1001, 1002)


@pytest.fixture
def underlay(ovs_switch):
    """cloudbr0 (netdev) holds 192.0.2.1; its port leads to a namespace with every peer's
    address; 2 networks of GRE tunnels to the peers (and, in 1001, to one nobody answers)."""
    peers_ns = 'csomi%s' % secrets.token_hex(3)
    ns = ovs_switch.netns
    run(['ip', 'netns', 'add', peers_ns])
    try:
        ovs_switch.ovs.vsctl('add-br', 'cloudbr0', '--', 'set', 'Bridge', 'cloudbr0',
                             'datapath_type=netdev')
        run(['ip', '-n', ns, 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'eth0',
             'netns', peers_ns])
        ovs_switch.ovs.vsctl('add-port', 'cloudbr0', 'up0')
        run(['ip', 'netns', 'exec', ns, 'sh', '-c', 'ip link set up0 up; ip link set cloudbr0 up; '
             'ip addr add 192.0.2.1/24 dev cloudbr0'])
        run(['ip', 'netns', 'exec', peers_ns, 'sh', '-c', 'ip link set lo up; ip link set eth0 up; '
             + '; '.join('ip addr add %s/24 dev eth0' % ip for ip in PEERS)])
        peers = [dict(host_id=i + 2, remote_ip=ip) for i, ip in enumerate(PEERS)]
        networks = [dict(key=k, peers=peers + ([dict(host_id=200, remote_ip=SILENT)]
                                               if k == 1001 else [])) for k in KEYS]
        built = run_module('gre_network', dict(host_id=1, datapath_type='netdev',
                                               db=ovs_switch.db, timeout=60, local_ip='192.0.2.1',
                                               networks=networks))
        assert not built.get('failed'), built
        yield ovs_switch
    finally:
        remove_netns([peers_ns], [])


def read(switch, **args):
    result = run_module('gre_mesh_info', dict(dict(host_id=1, db=switch.db, timeout=30), **args))
    assert not result.get('failed'), result
    return result['bridges']


def test_idle_neighbours_are_resolved_and_a_silent_one_stays_a_note(underlay):
    # every neighbour entry gone, as on a host whose tunnels carried nothing for a while
    underlay.ovs.appctl('tnl/neigh/flush')
    assert '192.0.2.' not in underlay.ovs.appctl('tnl/neigh/show')
    # the first trace's ARP requests were real: the second trace finds every answering peer
    bridges = read(underlay)
    for key in KEYS:
        broadcast = bridges['OVSTunnel%d' % key]['trace']['broadcast']
        assert sorted(t['remote_ip'] for t in broadcast['tunnels']) == PEERS, broadcast
        missed = [n for n in broadcast['notes'] if 'neighbor cache miss' in n]
        # only the peer nobody answers for is still missing, with the trace's own words
        assert missed == (['neighbor cache miss for %s on bridge cloudbr0, sending ARP request'
                           % SILENT] if key == 1001 else [])
    shown = underlay.ovs.appctl('tnl/neigh/show')
    assert all(ip in shown for ip in PEERS) and SILENT not in shown


def test_traces_from_the_tunnels_are_bounded_and_counted(underlay):
    bridges = read(underlay, max_tunnel_traces=3)
    trace = bridges['OVSTunnel1002']['trace']
    assert trace['tunnel_count'] == len(PEERS) and len(trace['from_tunnels']) == 3
    assert all(e['tunnels'] == [] for e in trace['from_tunnels'])  # split horizon holds
    again = read(underlay, max_tunnel_traces=3)['OVSTunnel1002']['trace']
    assert [e['port'] for e in again['from_tunnels']] == [e['port'] for e in trace['from_tunnels']]
    everything = read(underlay, max_tunnel_traces=100)['OVSTunnel1001']['trace']
    assert len(everything['from_tunnels']) == everything['tunnel_count'] == len(PEERS) + 1
    assert bridges['OVSTunnel1001']['flows'], 'a real dump is read (its reply header is there)'


def test_a_negative_bound_is_refused_naming_the_field(underlay):
    result = run_module('gre_mesh_info', dict(db=underlay.db, max_tunnel_traces=-1))
    assert result.get('failed') and 'max_tunnel_traces' in result['msg'] and '-1' in result['msg']


def test_the_reading_as_one_json_document_is_the_reading(underlay):
    # untraced: the traces' notes (neighbour ages) may differ between two reads
    args = dict(host_id=1, db=underlay.db, timeout=30, trace=False)
    values = run_module('gre_mesh_info', args)
    as_json = run_module('gre_mesh_info', dict(args, return_format='json'))
    assert not values.get('failed') and not as_json.get('failed'), (values, as_json)
    assert 'bridges' not in as_json and as_json['host_id'] == 1
    assert json.loads(as_json['reading_json']) == dict(
        host_id=1, bridges=values['bridges'], addresses=values['addresses'])
    refused = run_module('gre_mesh_info', dict(args, return_format='yaml'))
    assert refused.get('failed') and 'return_format' in refused['msg'] and 'yaml' in refused['msg']
