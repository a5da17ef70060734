# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""gre_mesh_info's calls run four at a time: every bridge still gets its flows and its traces in
the order of the module's description, and a failed call stops that bridge's traces only."""

import json
import threading
from concurrent.futures import Future

import pytest

from ansible_collections.cloudstack.ovs.plugins.module_utils import ofctl
from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import OvsdbError, ParamError
from ansible_collections.cloudstack.ovs.plugins.module_utils.gre_mesh_info import (
    NEIGHBOUR_WAITS,
    MeshInfoContext,
    Reader,
    mesh_info_request,
    read_bridges,
    read_mesh_info,
    spread,
    waits_within,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.gre_names import GRE_COLUMNS
from ansible_collections.cloudstack.ovs.plugins.module_utils.mesh_reading import decode_reading

LEARNED = ('  port  VLAN  MAC                Age\n'
           '     1     0  02:00:00:00:0a:01    3\n'
           '     2     0  02:00:00:00:0a:02    3\n'
           'LOCAL     0  02:00:00:00:0a:03    3\n')


def bridge(name, tunnels):
    ports = {name: dict(name=name, interfaces={name: dict(ofport=65534, type='internal')})}
    for ofport, pname in tunnels:
        ports[pname] = dict(name=pname, interfaces={pname: dict(ofport=ofport, type='gre')})
    return dict(name=name, ports=ports)


class Switch(object):
    """Answers as ovs-ofctl/ovs-appctl print; ``fail`` names the calls that time out."""

    def __init__(self, fail=()):
        self.fail = fail
        self.calls = []
        self.lock = threading.Lock()

    def _call(self, what):
        with self.lock:
            self.calls.append(what)
        if what in self.fail:
            raise OvsdbError('ovs-appctl %s: timed out' % ' '.join(what))

    def flows(self, name):
        return ['priority=0 actions=NORMAL'], None

    def trace(self, name, flow):
        self._call(('ofproto/trace', name, flow))
        return dict(tunnels=[], actions=flow, notes=[])

    def appctl_call(self, *args):
        self._call(args)
        return LEARNED


def bridges():
    return dict(OVSTunnel1001=bridge('OVSTunnel1001', [(1, 't1001-1-2'), (2, 't1001-1-3')]),
                OVSTunnel1002=bridge('OVSTunnel1002', [(1, 't1002-1-2')]))


def test_every_bridge_gets_flows_and_ordered_traces():
    found = bridges()
    switch = Switch()
    read_bridges(switch, found, True, 16)
    one = found['OVSTunnel1001']
    assert one['flows'] == ['priority=0 actions=NORMAL'] and one['flows_error'] is None
    trace = one['trace']
    assert trace['error'] is None
    assert trace['broadcast']['actions'].startswith('in_port=LOCAL,')
    assert [e['port'] for e in trace['from_tunnels']] == ['t1001-1-2', 't1001-1-3']
    assert [e['actions'].split(',')[0] for e in trace['from_tunnels']] == ['in_port=1', 'in_port=2']
    # the MAC learned on LOCAL is no tunnel's: not traced
    assert [(e['mac'], e['port']) for e in trace['unicast']] == \
        [('02:00:00:00:0a:01', 't1001-1-2'), ('02:00:00:00:0a:02', 't1001-1-3')]
    assert [(e['mac'], e['port']) for e in found['OVSTunnel1002']['trace']['unicast']] == \
        [('02:00:00:00:0a:01', 't1002-1-2')]
    # per bridge: a broadcast from LOCAL, one per tunnel, fdb/show, one per learned MAC
    assert len(switch.calls) == (1 + 2 + 1 + 2) + (1 + 1 + 1 + 1)


def test_a_failed_call_stops_that_bridges_traces_only():
    found = bridges()
    failing = ('ofproto/trace', 'OVSTunnel1001',
               'in_port=2,dl_src=02:00:00:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff')
    read_bridges(Switch(fail=[failing]), found, True, 16)
    trace = found['OVSTunnel1001']['trace']
    assert 'timed out' in trace['error']
    assert trace['broadcast'] is not None
    assert [e['port'] for e in trace['from_tunnels']] == ['t1001-1-2']  # what came before
    assert trace['unicast'] == []
    other = found['OVSTunnel1002']['trace']
    assert other['error'] is None and len(other['unicast']) == 1


def test_unicast_traces_are_capped_and_trace_false_traces_nothing():
    found = bridges()
    read_bridges(Switch(), found, True, 1)
    assert len(found['OVSTunnel1001']['trace']['unicast']) == 1
    found = bridges()
    switch = Switch()
    read_bridges(switch, found, False, 16)
    assert switch.calls == [] and all(b['trace'] is None for b in found.values())
    assert all(b['flows'] for b in found.values())


def many(count):
    return dict(OVSTunnel1001=bridge('OVSTunnel1001', [(i, 't1001-1-%d' % (i + 1))
                                                       for i in range(1, count + 1)]))


def test_spread_picks_evenly_over_the_whole_list_the_same_each_time():
    items = list(range(127))
    picked = spread(items, 16, offset=5)
    assert len(picked) == len(set(picked)) == 16
    assert picked == spread(items, 16, offset=5)  # deterministic
    assert picked[0] < 8 and picked[-1] >= 127 - 8  # from the start to the end, not the first 16
    assert all(7 <= b - a <= 8 for a, b in zip(picked, picked[1:]))
    covered = set()
    for host in range(1, 129):  # the hosts of a zone, together, trace every tunnel index
        covered.update(spread(items, 16, offset=host))
    assert covered == set(items)
    assert spread(items, 16, offset=6) != picked  # another host, other tunnels
    assert spread(items[:10], 16) == items[:10] and spread(items, 0) == []


def test_tunnel_traces_are_bounded_and_say_of_how_many():
    found = many(127)
    switch = Switch()
    read_bridges(switch, found, True, 16, max_tunnels=16, offset=3)
    trace = found['OVSTunnel1001']['trace']
    assert trace['tunnel_count'] == 127
    ports = [e['port'] for e in trace['from_tunnels']]
    assert len(ports) == 16 and ports[0] != 't1001-1-2'
    traced = [c for c in switch.calls if c[0] == 'ofproto/trace' and 'in_port=LOCAL' not in c[2]]
    assert len(traced) == 16
    found = many(5)
    read_bridges(Switch(), found, True, 16, max_tunnels=16)
    assert len(found['OVSTunnel1001']['trace']['from_tunnels']) == 5


def broadcasts(switch):
    return [c for c in switch.calls if c[0] == 'ofproto/trace' and
            c[2].startswith('in_port=LOCAL,') and c[2].endswith('ff:ff:ff:ff:ff:ff')]


MISS = 'neighbor cache miss for 192.0.2.12 on bridge cloudbr0, sending ARP request'


class Neighbours(Switch):
    """A host's neighbour cache, shared by its bridges: its first ``misses`` broadcast traces,
    whichever bridge, find no neighbour (each sends ARP requests); later ones do (never, with
    ``misses`` None)."""

    def __init__(self, misses=1):
        super(Neighbours, self).__init__()
        self.misses = misses
        self.arp_requests = 0

    def trace(self, name, flow):
        self._call(('ofproto/trace', name, flow))
        if flow.startswith('in_port=LOCAL') and flow.endswith('ff:ff:ff:ff:ff:ff'):
            with self.lock:
                if self.misses is None or self.arp_requests < self.misses:
                    self.arp_requests += 1
                    return dict(tunnels=[], actions='', notes=[MISS])
        return dict(tunnels=[dict(remote_ip='192.0.2.12', key='1001')], actions='', notes=[])


def test_a_neighbour_cache_miss_is_traced_again_after_one_wait(monkeypatch):
    waits = []
    monkeypatch.setattr('time.sleep', waits.append)
    found = bridges()
    switch = Neighbours()
    read_bridges(switch, found, True, 16, neighbour_waits=(0.5, 1.0))
    assert waits == [0.5]  # once for the host, not per bridge
    for data in found.values():
        assert data['trace']['broadcast']['notes'] == []
        assert data['trace']['broadcast']['tunnels'] == [dict(remote_ip='192.0.2.12', key='1001')]
    # OVSTunnel1001 twice, OVSTunnel1002 once: the neighbours were resolved by then
    assert [c[1] for c in broadcasts(switch)] == ['OVSTunnel1001'] * 2 + ['OVSTunnel1002']
    assert switch.arp_requests == 1


def test_one_bridge_resolves_the_neighbours_for_all(monkeypatch):
    """The first bridge's broadcast alone sends the ARP requests and is waited for; the other
    bridges' broadcasts are traced after it, not each sending requests of its own."""
    monkeypatch.setattr('time.sleep', lambda _s: None)
    found = dict(('OVSTunnel%d' % k, bridge('OVSTunnel%d' % k, [(1, 't%d-1-2' % k)]))
                 for k in range(1001, 1009))
    switch = Neighbours(misses=2)
    read_bridges(switch, found, True, 16)
    order = [c[1] for c in broadcasts(switch)]
    assert order[:3] == ['OVSTunnel1001'] * 3 and sorted(order[3:]) == sorted(found)[1:]
    assert switch.arp_requests == 2
    assert all(data['trace']['broadcast']['notes'] == [] for data in found.values())


def test_a_slow_neighbour_is_waited_for_longer(monkeypatch):
    waits = []
    monkeypatch.setattr('time.sleep', waits.append)
    found = bridges()
    switch = Neighbours(misses=2)
    read_bridges(switch, found, True, 16, neighbour_waits=(0.5, 1.0, 2.0))
    assert waits == [0.5, 1.0]
    assert all(data['trace']['broadcast']['notes'] == [] for data in found.values())
    assert len(broadcasts(switch)) == 3 + 1


def test_a_neighbour_that_never_answers_stays_in_the_notes(monkeypatch):
    waits = []
    monkeypatch.setattr('time.sleep', waits.append)
    found = bridges()
    switch = Neighbours(misses=None)
    read_bridges(switch, found, True, 16)
    assert waits == list(NEIGHBOUR_WAITS)   # all of them, for the host
    for data in found.values():
        assert data['trace']['broadcast']['notes'] == [MISS]
    # the first bridge traced once and again after each wait, the other once: not more
    assert [c[1] for c in broadcasts(switch)] == \
        ['OVSTunnel1001'] * (1 + len(NEIGHBOUR_WAITS)) + ['OVSTunnel1002']


def test_the_neighbour_waits_add_up_to_at_most_the_timeout():
    assert waits_within(60) == NEIGHBOUR_WAITS
    assert waits_within(2.5, (1.0, 2.0, 4.0)) == (1.0, 1.5)
    assert waits_within(0.5, (1.0, 2.0)) == (0.5,)


def test_no_wait_without_a_miss(monkeypatch):
    waits = []
    monkeypatch.setattr('time.sleep', waits.append)
    read_bridges(Switch(), bridges(), True, 16)
    assert waits == []


@pytest.mark.parametrize('field', ['max_unicast_traces', 'max_tunnel_traces'])
def test_negative_trace_bounds_are_refused_naming_the_field(field):
    params = dict(host_id=1, max_unicast_traces=16, max_tunnel_traces=16)
    params[field] = -2
    with pytest.raises(ParamError, match=r'^%s: must be 0 or more \(got -2\)' % field):
        mesh_info_request(params)


class Module(object):
    """What ``Reader`` uses of AnsibleModule: where a command is."""

    def get_bin_path(self, name, required=False):
        return '/usr/bin/' + name


def reader(monkeypatch, answer):
    """A ``Reader`` whose ovs-ofctl answers ``answer`` (rc, out, err)."""
    monkeypatch.setattr(ofctl, 'run_command', lambda argv, data=None, timeout=None: answer)
    return Reader(Module(), '/run/ovs', 5)


@pytest.mark.parametrize('out', ['', ' cookie=0x0, priority=0 actions=NORMAL\n'])
def test_a_dump_without_its_reply_is_unreadable_not_flows_missing(monkeypatch, out):
    flows, error = reader(monkeypatch, (0, out, '')).flows('OVSTunnel1001')
    assert flows is None and 'without a flow reply' in error and 'OVSTunnel1001' in error


def test_an_empty_table_is_read_as_empty(monkeypatch):
    flows, error = reader(monkeypatch, (0, 'OFPST_FLOW reply (OF1.4) (xid=0x2):\n', '')).flows(
        'OVSTunnel1001')
    assert flows == [] and error is None


def test_a_dump_with_counters_gives_the_lines_no_stats_prints(monkeypatch):
    out = ('OFPST_FLOW reply (OF1.4) (xid=0x2):\n'
           ' cookie=0x0, duration=12.5s, table=0, n_packets=3, n_bytes=180, priority=1000,'
           'in_port=1,dl_dst=ff:ff:ff:ff:ff:ff actions=NORMAL\n'
           ' cookie=0x0, duration=12.5s, table=0, n_packets=0, n_bytes=0, priority=0 '
           'actions=NORMAL\n')
    flows, error = reader(monkeypatch, (0, out, '')).flows('OVSTunnel1001')
    assert error is None
    assert flows == ['priority=0 actions=NORMAL',
                     'priority=1000,in_port=1,dl_dst=ff:ff:ff:ff:ff:ff actions=NORMAL']


class Session(object):
    """What ``read_mesh_info`` uses of an OVSDB session: the bridges and the internal ports."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def bridge_details(self):
        found = dict((name, dict(data, other_config={'gre_key': name[len('OVSTunnel'):]},
                                 external_ids={}))
                     for name, data in bridges().items())
        return found, set(['cloudbr0'])


IP_JSON = json.dumps([dict(ifname='cloudbr0', addr_info=[
    dict(family='inet', local='192.0.2.11', prefixlen=24, scope='global')])])


def mesh_reading_of(return_format, session=None):
    addresses = Future()
    addresses.set_result(IP_JSON)
    ctx = MeshInfoContext(Switch(), session or Session(), addresses)
    request = dict(bridges=[], host_id=1, trace=True, max_unicast_traces=16,
                   max_tunnel_traces=16, timeout=5, return_format=return_format)
    return read_mesh_info(ctx, request)


def test_the_ports_are_read_with_the_documented_columns_only(monkeypatch):
    # of Port and Interface, the session monitors these alone and its views read no other
    # (test_ovsdb: a session with columns)
    from ansible_collections.cloudstack.ovs.plugins.module_utils import gre_mesh_info
    asked = []
    monkeypatch.setattr(gre_mesh_info, 'ovsdb_context',
                        lambda module, lock=True, columns=None: asked.append((lock, columns)))
    gre_mesh_info.mesh_info_context(object())
    assert asked == [(False, GRE_COLUMNS)]
    assert GRE_COLUMNS == {'Port': ('name', 'protected', 'external_ids', 'interfaces'),
                           'Interface': ('name', 'type', 'options', 'ofport', 'link_state',
                                         'error')}


def test_the_reading_as_json_is_the_reading_as_values():
    values = mesh_reading_of('dict')
    as_json = mesh_reading_of('json')
    assert values.changed is False and as_json.changed is False
    assert sorted(values.result) == ['addresses', 'bridges', 'host_id']
    assert sorted(as_json.result) == ['host_id', 'reading_json']
    assert as_json.result['host_id'] == 1
    assert isinstance(as_json.result['reading_json'], str)
    assert values.result['bridges']['OVSTunnel1001']['agent_configured'] is False
    assert values.result['addresses'] == [dict(ifname='cloudbr0', address='192.0.2.11',
                                               prefixlen=24, ovs=True)]
    # what the mesh doctor reads, either way
    assert decode_reading(as_json.result) == (values.result, None)
    assert decode_reading(values.result) == (values.result, None)
