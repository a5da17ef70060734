# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""gre_mesh_info's calls run four at a time: every bridge still gets its flows and its traces in
the order of the module's description, and a failed call stops that bridge's traces only."""

import threading

from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import OvsdbError
from ansible_collections.cloudstack.ovs.plugins.module_utils.gre_mesh_info import read_bridges

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
