# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The OVSDB modules under faults, on real daemons (issue 12, items 1-3).

* ovs-vswitchd stopped (SIGSTOP): a change is committed to the database but not applied; the
  module says so, with ``changed: true``, in a short message; ``wait: false`` does not wait.
* ovsdb-server stopped: ``ovs_info`` and ``gre_network`` return a clear error naming ``db``
  within about ``timeout`` (checked against a generous bound, not timed);
  ovs-vswitchd stopped: ``gre_network``'s ``ovs-ofctl`` returns within about ``timeout`` too.
* two ``gre_network`` runs at once end in the state one of them asked for, flows matching ports.

Every stopped daemon is continued in a ``finally`` block; the switch fixture kills it by pid.
"""

import json
import os
import signal
import subprocess
import time

from conftest import PYTHON, ansible_env, run_module


from ansible_collections.cloudstack.ovs.plugins.module_utils.gre_flows import (
    desired_flows,
    flow_diff,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.ovsdb import (
    OvsdbSession,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import (
    ConflictError,
)

TIMEOUT = 3
# A bound, not a timed assertion: connect, read and commit each get ``timeout``; the margin
# covers Python start-up on a loaded machine.
BOUND = 3 * TIMEOUT + 30
KEY = 2105


# Documentation addresses only; nothing is sent to them (no route in the switch's namespace).
NETS = ('192.0.2.', '198.51.100.', '203.0.113.')


def peers(first, last):
    return [dict(host_id=h, remote_ip='%s%d' % (NETS[h // 254], h % 254 + 1))
            for h in range(first, last + 1)]


def gre_args(switch, first, last, **extra):
    args = dict(host_id=1, key=KEY, peers=peers(first, last), datapath_type='netdev',
                db=switch.db)
    args.update(extra)
    return args


class Stopped(object):
    """SIGSTOP one daemon of the switch for the ``with`` block; always SIGCONT after."""

    def __init__(self, switch, daemon):
        self.pid = switch.ovs.pids[daemon]

    def __enter__(self):
        os.kill(self.pid, signal.SIGSTOP)
        return self

    def __exit__(self, *exc):
        os.kill(self.pid, signal.SIGCONT)


def timed_module(name, args):
    """run_module with a subprocess bound of BOUND; returns (result, seconds)."""
    start = time.monotonic()
    result = run_module(name, args, timeout=BOUND)
    return result, time.monotonic() - start


def tunnel_ports(switch):
    """Tunnel port name -> ofport, as the database has them."""
    out = switch.ovs.vsctl('--columns=name,ofport', '--format=json', 'list', 'Interface')
    rows = json.loads(out)['data']
    return dict((name, ofport) for name, ofport in rows if name.startswith('t%d-' % KEY))


def test_vswitchd_stopped_commit_is_reported_changed_and_not_applied(ovs_switch):
    with Stopped(ovs_switch, 'ovs-vswitchd'):
        result, seconds = timed_module(
            'ovs_bridge', dict(name='br-fault', db=ovs_switch.db, timeout=TIMEOUT))
        # The database took the bridge: the call says so, and that ovs-vswitchd has not applied it.
        assert result.get('failed'), result
        assert result.get('changed') is True, result
        assert 'committed' in result['msg'] and 'ovs-vswitchd has not applied' in result['msg']
        assert ovs_switch.db in result['msg']
        assert 'a re-run' in result['msg']
        assert seconds < BOUND
        assert 'br-fault' in ovs_switch.ovs.vsctl('list-br').split()
        # wait: false is ovs-vsctl's --no-wait: committed is done.
        nowait = run_module('ovs_bridge', dict(name='br-nowait', db=ovs_switch.db,
                                               timeout=TIMEOUT, wait=False))
        assert not nowait.get('failed') and nowait.get('changed') is True, nowait
    # Once ovs-vswitchd runs again, a re-run confirms: nothing more to change.
    again = run_module('ovs_bridge', dict(name='br-fault', db=ovs_switch.db, timeout=30))
    assert not again.get('failed') and again['changed'] is False, again


def test_large_failure_message_is_short_unless_vvv(ovs_switch):
    args = gre_args(ovs_switch, 2, 301, timeout=TIMEOUT)
    with Stopped(ovs_switch, 'ovs-vswitchd'):
        result = run_module('gre_network', args, timeout=BOUND)
        assert result.get('failed') and result.get('changed') is True, result
        # The count and the first few changes, not 300 of them.
        assert len(result['msg']) < 2000, len(result['msg'])
        assert 'more' in result['msg'] and 'flows were not written' in result['msg']
        assert 'ovs-vswitchd has not applied' in result['msg']
    # The 300 tunnels are in the database; a re-run changes no port and writes the flows.
    assert len(tunnel_ports(ovs_switch)) == 300
    again = run_module('gre_network', dict(args, timeout=60))
    assert not again.get('failed'), again['msg'][:2000]
    assert again['changes'][str(KEY)]['ports_added'] == []
    assert again['changes'][str(KEY)]['flows_added'] > 0
    # With -vvv the message names every change.
    with Stopped(ovs_switch, 'ovs-vswitchd'):
        verbose = run_module('gre_network', dict(gre_args(ovs_switch, 302, 601, timeout=TIMEOUT),
                                                 _ansible_verbosity=3), timeout=BOUND)
    assert verbose.get('failed') and verbose.get('changed') is True
    assert 'add port t%d-1-601 to bridge' % KEY in verbose['msg']


def test_ovsdb_server_stopped_ovs_info_fails_within_timeout(ovs_switch):
    with Stopped(ovs_switch, 'ovsdb-server'):
        result, seconds = timed_module('ovs_info', dict(db=ovs_switch.db, timeout=TIMEOUT))
    assert result.get('failed'), result
    assert result['msg'].startswith('db: ') and ovs_switch.db in result['msg'], result['msg']
    assert seconds < BOUND


def test_ovsdb_server_stopped_gre_network_fails_within_timeout(ovs_switch):
    with Stopped(ovs_switch, 'ovsdb-server'):
        result, seconds = timed_module('gre_network', gre_args(ovs_switch, 2, 3, timeout=TIMEOUT))
    assert result.get('failed'), result
    assert result['changed'] is False
    assert result['msg'].startswith('db: ') and ovs_switch.db in result['msg'], result['msg']
    assert seconds < BOUND


def test_vswitchd_stopped_flow_io_fails_within_timeout(ovs_switch):
    args = gre_args(ovs_switch, 2, 3, timeout=30)
    first = run_module('gre_network', args)
    assert not first.get('failed'), first
    with Stopped(ovs_switch, 'ovs-vswitchd'):
        # Nothing to change in the database; reading the flows needs ovs-vswitchd.
        result, seconds = timed_module('gre_network', dict(args, timeout=TIMEOUT))
    assert result.get('failed'), result
    assert result['changed'] is False
    assert 'OVSTunnel%d' % KEY in result['msg'] and 'ovs-vswitchd' in result['msg']
    assert seconds < BOUND


def test_two_gre_network_runs_at_once_end_in_one_asked_for_state(ovs_switch):
    first = run_module('gre_network', gre_args(ovs_switch, 2, 51, timeout=60))
    assert not first.get('failed'), first
    wanted = {}
    procs = {}
    for run, (low, high) in (('A', (2, 101)), ('B', (102, 201))):
        args = gre_args(ovs_switch, low, high, timeout=60)
        wanted[run] = set('t%d-1-%d' % (KEY, h) for h in range(low, high + 1))
        payload = dict(args, _ansible_check_mode=False, _ansible_diff=False)
        procs[run] = subprocess.Popen(
            [PYTHON, '-m', 'ansible_collections.cloudstack.ovs.plugins.modules.gre_network'],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=ansible_env())
        procs[run].stdin.write(json.dumps({'ANSIBLE_MODULE_ARGS': payload}))
        procs[run].stdin.close()
    results = {}
    try:
        for run, proc in procs.items():
            out = proc.stdout.read()
            proc.wait(timeout=300)
            results[run] = json.loads(out)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for run, result in results.items():
        assert not result.get('failed'), (run, result['msg'][:2000])
    ports = tunnel_ports(ovs_switch)
    assert set(ports) in (wanted['A'], wanted['B']), sorted(set(ports) ^ wanted['A'])[:10]
    # The flows are the ones these ports need: nothing missing, nothing left over.
    installed = ovs_switch.ovs.ofctl('-O', 'OpenFlow14', '--no-names', '--no-stats', 'dump-flows',
                                     'unix:' + os.path.join(os.path.dirname(ovs_switch.ovs.sock),
                                                            'OVSTunnel%d.mgmt' % KEY))
    added, removed = flow_diff(installed, desired_flows(ports))
    assert (added, removed) == ([], [])


def test_a_plan_from_a_stale_read_is_not_committed(ovs_switch):
    """Another client (ovs-vsctl, CloudStack's agent: no lock of ours) changes the bridges
    between the read and the commit: nothing is committed, the module would plan again."""
    session = OvsdbSession(db=ovs_switch.db, timeout=30, lock=True)
    try:
        session.bridges()
        ovs_switch.ovs.vsctl('add-br', 'br-other')
        deadline = time.monotonic() + 30
        while 'br-other' not in [row.name for row in session._rows('Bridge')]:
            assert time.monotonic() < deadline, 'the session never saw br-other'
            time.sleep(0.05)
        # The IDL counted the change: the commit reads the bridges again and finds it.
        assert not session.unchanged_since_read()
        try:
            session.apply([dict(op='add_bridge', bridge='br-mine')])
        except ConflictError as exc:
            assert exc.changed is False and 'changed nothing' in str(exc)
        else:
            raise AssertionError('a plan from a stale read was committed')
    finally:
        session.close()
    assert ovs_switch.ovs.vsctl('list-br').split() == ['br-other']


def settled(session, quiet=1.0, bound=30):
    """Wait until ovs-vswitchd's start-up writes are over: the IDL unchanged for ``quiet`` s."""
    deadline = time.monotonic() + bound
    seqno, since = session.connection.idl.change_seqno, time.monotonic()
    while time.monotonic() - since < quiet:
        assert time.monotonic() < deadline, 'the database never settled'
        time.sleep(0.05)
        if session.connection.idl.change_seqno != seqno:
            seqno, since = session.connection.idl.change_seqno, time.monotonic()


def test_a_plan_nothing_moved_under_is_committed_without_a_second_read(ovs_switch):
    """Nothing changed since the read (the IDL's change_seqno): the commit skips reading every
    bridge again, and goes through."""
    session = OvsdbSession(db=ovs_switch.db, timeout=30, lock=True, wait=False)
    try:
        settled(session)
        session.bridges()
        reads = []
        full_read = session._bridges
        session._bridges = lambda: reads.append(1) or full_read()
        session.apply([dict(op='add_bridge', bridge='br-mine')])
        assert reads == []
    finally:
        session.close()
    assert ovs_switch.ovs.vsctl('list-br').split() == ['br-mine']


def test_a_change_outside_what_the_plan_read_does_not_stop_it(ovs_switch):
    """Another client changes what the plan did not read: the IDL moved, so the commit compares
    what the plan read, finds it unchanged, and commits."""
    session = OvsdbSession(db=ovs_switch.db, timeout=30, lock=True, wait=False)
    try:
        session.bridges()
        ovs_switch.ovs.vsctl('set', 'Open_vSwitch', '.', 'external_ids:spine-test=1')
        deadline = time.monotonic() + 30
        while session.unchanged_since_read():
            assert time.monotonic() < deadline, 'the session never saw the change'
            time.sleep(0.05)
        session.apply([dict(op='add_bridge', bridge='br-mine')])
    finally:
        session.close()
    assert ovs_switch.ovs.vsctl('list-br').split() == ['br-mine']
