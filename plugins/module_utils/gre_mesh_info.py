# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The reading of ``gre_mesh_info`` on the spine (``plan.run_module``): read-only, no ops.

- :func:`mesh_info_request` (parse): the parameters checked once;
- :func:`mesh_info_context` (context): the ``Reader`` (ovs-ofctl, ovs-vswitchd's control
  commands, ip), the host's addresses read in a thread of their own, an OVSDB session (no lock);
- :func:`read_mesh_info` (plan): the bridges from OVSDB, then their flows and traces
  (:func:`read_bridges`, ``WORKERS`` calls at a time), as the module's result: as return values,
  or as one JSON document (``return_format=json``, decoded by ``mesh_reading.decode_reading``).
"""

import json
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from ansible_collections.cloudstack.ovs.plugins.module_utils.appctl import Appctl
from ansible_collections.cloudstack.ovs.plugins.module_utils.cloudstack_agent import (
    agent_considers_configured,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import OvsdbError, ParamError
from ansible_collections.cloudstack.ovs.plugins.module_utils.gre_flows import (
    BROADCAST_MAC,
    flow_lines,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.command_output import (
    CommandTimeout,
    run as run_command,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.gre_names import (
    CS_HOST_SETUP,
    GRE_COLUMNS,
    tunnel_ports,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.mesh_reading import (
    READING_JSON,
    is_tunnel_bridge,
    ovs_addresses,
    parse_fdb,
    parse_trace,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.ofctl import Ofctl, ovs_rundir
from ansible_collections.cloudstack.ovs.plugins.module_utils.ovsdb import ovsdb_context
from ansible_collections.cloudstack.ovs.plugins.module_utils.plan import Plan

# A locally administered source address for the traced frames (tracing never learns it).
TRACE_SRC_MAC = '02:00:00:00:00:01'
# ovs-ofctl calls and control commands at a time (each bounded by the timeout; read-only)
WORKERS = 6
# A trace that finds no neighbour for a tunnel endpoint sends an ARP request (OVS native
# tunnels), flooded over the underlay to every host: the broadcast is traced again after each
# of these waits while it still misses (in all at most the timeout), so that only a neighbour
# that does not answer is reported. More than one wait: on a loaded host the reply can take
# longer than a second to be learned. The cache is the host's, not a bridge's: one bridge's
# broadcast is traced (and waited for) before the others', which then find the neighbours it
# resolved instead of each sending its own requests (read_bridges).
NEIGHBOUR_WAITS = (1.0, 2.0, 4.0)
NEIGHBOUR_MISS = 'neighbor cache miss'


class Reader(Ofctl):
    """ovs-ofctl, ovs-vswitchd's control commands (``appctl.Appctl``) and ip, each bounded by
    the module's timeout; read-only calls only."""

    def __init__(self, module, rundir, timeout):
        super(Reader, self).__init__(module, rundir, timeout)
        self.ip = module.get_bin_path('ip', required=True)
        self.appctl = Appctl(rundir, timeout)

    def flows(self, bridge):
        """(flow lines, None) or (None, why not). Dumped with counters (dropped by
        ``flow_lines``): only then does ovs-ofctl print its reply's header, which tells an
        empty table from a dump that printed nothing."""
        try:
            rc, out, err = self.dump_flows(bridge, stats=True)
        except OvsdbError as exc:
            return None, str(exc)  # a hung ovs-vswitchd is a finding, not the end of the read
        if rc != 0:
            return None, (err or out).strip() or 'rc=%d' % rc
        if 'FLOW reply' not in out:
            # with counters, dump-flows prints its reply's header even for an empty table:
            # without it no reply was printed, which is no table without flows
            return None, ('ovs-ofctl dump-flows %s ended (rc 0) without a flow reply: %r'
                          % (bridge, (out + err).strip()[:200]))
        return flow_lines(out), None

    def appctl_call(self, *args):
        """One ovs-vswitchd control command (``ovs-appctl <args>``); its text answer."""
        return self.appctl.call(*args)

    def trace(self, bridge, flow):
        return parse_trace(self.appctl_call('ofproto/trace', bridge, flow))

    def addresses(self):
        try:
            rc, out, err = run_command([self.ip, '-j', 'addr', 'show'], timeout=self.timeout)
        except (CommandTimeout, OSError) as exc:
            raise OvsdbError('addresses: ip -j addr show failed: %s' % exc)
        if rc != 0:
            raise OvsdbError('addresses: ip -j addr show failed: %s' % (err or out).strip())
        return out


def tunnel_ofports(bridge):
    """OpenFlow port number -> tunnel port name, for the bridge's tunnel ports."""
    tunnels = {}
    for pname, port in tunnel_ports(bridge).items():
        for iface in port['interfaces'].values():
            if iface.get('ofport') and iface['ofport'] > 0:
                tunnels[iface['ofport']] = pname
    return tunnels


def spread(items, count, offset=0):
    """At most ``count`` of ``items``, evenly spaced over the whole list (not its first ones),
    the same ones for the same ``offset`` (e.g. the host id, so that the hosts of a zone do not
    all pick the same peers): all of them when there are no more than ``count``."""
    items = list(items)
    total = len(items)
    if total <= count:
        return items
    return [items[i] for i in sorted(((k * total) // count + offset) % total
                                     for k in range(count))]


def _broadcast_missed(result):
    """Whether a broadcast trace's copies met an empty neighbour cache (an ARP request was sent)."""
    traced, error = result
    return error is None and any(NEIGHBOUR_MISS in n for n in traced.get('notes') or [])


def waits_within(timeout, waits=NEIGHBOUR_WAITS):
    """``waits`` cut to add up to at most ``timeout`` seconds."""
    out = []
    for wait in waits:
        wait = min(wait, timeout - sum(out))
        if wait <= 0:
            break
        out.append(wait)
    return tuple(out)


def _guarded(func, *args):
    """(result, None), or (None, error) when a control command failed or timed out."""
    try:
        return func(*args), None
    except OvsdbError as exc:
        return None, str(exc)


def read_bridges(reader, bridges, trace, max_unicast, max_tunnels=None, offset=0,
                 neighbour_waits=NEIGHBOUR_WAITS):
    """Every bridge's flows and (with ``trace``) the three traces of the module's description.

    The ovs-ofctl calls and control commands are independent, each bounded by the timeout:
    they run WORKERS at a time. A bridge's traces stop at its first failed call (``error``),
    in the order broadcast, from each tunnel, learned MACs, unicast; what came before is kept.
    A broadcast is traced from at most ``max_tunnels`` tunnel ports per bridge (``spread``
    over them, ``offset`` the host id; None: from all); ``tunnel_count`` says of how many.
    A broadcast trace that met an empty neighbour cache is traced again after each of
    ``neighbour_waits`` (seconds, for the whole host: its ARP requests were sent meanwhile)
    while it still misses. The first bridge's broadcast is traced alone and waited for before
    the others': they go to the same peers, and every broadcast that misses sends an ARP
    request for each peer it misses, flooded over the underlay to every host (at 128 hosts
    with cold caches, 8 bridges' requests and their retraces kept the hosts' ovs-vswitchd busy
    for tens of minutes: docs/scale.md).
    """
    pending = {}

    def broadcast(name):
        return pool.submit(_guarded, reader.trace, name, 'in_port=LOCAL,dl_src=%s,dl_dst=%s'
                           % (TRACE_SRC_MAC, BROADCAST_MAC))
    names = list(bridges) if trace else []
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        first = dict((name, broadcast(name)) for name in names[:1])  # before all else
        for name, data in bridges.items():
            job = pending[name] = dict(flows=pool.submit(reader.flows, name))
            if not trace:
                continue
            job['tunnels'] = tunnels = tunnel_ofports(data)
            ports = sorted(tunnels.items())
            if max_tunnels is not None:
                ports = spread(ports, max_tunnels, offset)
            # (a broadcast coming in from a tunnel must leave into no tunnel: no neighbour
            # lookup when the split horizon holds)
            job['from_tunnels'] = [(pname, pool.submit(_guarded, reader.trace, name,
                                                       'in_port=%d,dl_src=%s,dl_dst=%s'
                                                       % (ofport, TRACE_SRC_MAC, BROADCAST_MAC)))
                                   for ofport, pname in ports]
            job['fdb'] = pool.submit(_guarded, reader.appctl_call, 'fdb/show', name)
        waits = list(neighbour_waits) if trace else []
        for group in (names[:1], names[1:]):
            for name in group:
                pending[name]['broadcast'] = first.pop(name, None) or broadcast(name)
            missed = group
            while missed and waits:
                missed = [name for name in missed
                          if _broadcast_missed(pending[name]['broadcast'].result())]
                if not missed:
                    break
                time.sleep(waits.pop(0))  # for the host: the cache is the host's
                for name in missed:
                    pending[name]['broadcast'] = broadcast(name)
        # the unicast traces need the learned MACs: a second round
        for name, job in pending.items():
            bridges[name]['flows'], bridges[name]['flows_error'] = job['flows'].result()
            if not trace:
                bridges[name]['trace'] = None
                continue
            result = bridges[name]['trace'] = dict(broadcast=None, from_tunnels=[], unicast=[],
                                                   error=None, tunnel_count=len(job['tunnels']))
            result['broadcast'], result['error'] = job['broadcast'].result()
            for pname, future in job['from_tunnels']:
                entry, error = future.result()
                if result['error'] is None and error is not None:
                    result['error'] = error
                if result['error'] is None:
                    entry['port'] = pname
                    result['from_tunnels'].append(entry)
            fdb, error = job['fdb'].result()
            if result['error'] is None and error is not None:
                result['error'] = error
            if result['error'] is not None:
                continue
            tunnels = job['tunnels']
            learned = [e for e in parse_fdb(fdb) if e['port'] in tunnels][:max_unicast]
            job['unicast'] = [(entry, pool.submit(_guarded, reader.trace, name,
                                                  'in_port=LOCAL,dl_src=%s,dl_dst=%s'
                                                  % (TRACE_SRC_MAC, entry['mac'])))
                              for entry in learned]
        for name, job in pending.items():
            result = bridges[name]['trace']
            for entry, future in job.get('unicast', []):
                traced, error = future.result()
                if result['error'] is None and error is not None:
                    result['error'] = error
                if result['error'] is None:
                    traced.update(mac=entry['mac'], port=job['tunnels'][entry['port']])
                    result['unicast'].append(traced)


def mesh_info_request(params):
    """The parameters checked once, before anything is read (what a spec cannot say)."""
    if params['host_id'] is not None and params['host_id'] < 1:
        raise ParamError('host_id: must be a positive CloudStack host id (got %r)'
                         % params['host_id'])
    for field in ('max_unicast_traces', 'max_tunnel_traces'):
        if params[field] is not None and params[field] < 0:
            raise ParamError('%s: must be 0 or more (got %r)' % (field, params[field]))
    return params


class MeshInfoContext(object):
    """What the read shares: the ``Reader``, the OVSDB session (``None`` once closed) and the
    host's addresses, read by ``ip`` in a thread of their own meanwhile (a future)."""

    def __init__(self, reader, session, addresses):
        self.reader = reader
        self.session = session
        self.addresses = addresses


def mesh_info_context(module):
    """The ``context`` factory of ``gre_mesh_info``: ``ip`` starts reading the addresses, then
    the OVSDB session (no lock: the module only reads) opens beside it."""
    sessions = ovsdb_context(module, lock=False, columns=GRE_COLUMNS)

    @contextmanager
    def context():
        reader = Reader(module, ovs_rundir(module.params), module.params['timeout'])
        with ThreadPoolExecutor(max_workers=1) as side:
            addresses = side.submit(reader.addresses)  # read while OVSDB is
            with sessions() as session:
                yield MeshInfoContext(reader, session, addresses)
    return context


def read_mesh_info(ctx, request):
    """This host's side of the mesh: a Plan with no changes, the reading as its result (of
    ports and interfaces the columns the session monitors, ``GRE_COLUMNS``: those documented
    in RETURN). The session closes once the rows are read: the traces need ovs-vswitchd
    only."""
    with ctx.session:
        found, internal = ctx.session.bridge_details()
    bridges = dict((name, data) for name, data in found.items()
                   if is_tunnel_bridge(data) or name in request['bridges'])
    missing = [b for b in request['bridges'] if b not in bridges]
    if missing:
        raise ParamError('bridges: no such bridge: %s' % ', '.join(missing))
    host_id = request['host_id']
    for data in bridges.values():
        setup = data['other_config'].get(CS_HOST_SETUP)
        data['agent_configured'] = (None if host_id is None
                                    else agent_considers_configured(setup, host_id))
    read_bridges(ctx.reader, bridges, request['trace'], request['max_unicast_traces'],
                 request['max_tunnel_traces'], offset=host_id or 0,
                 neighbour_waits=waits_within(request['timeout']))
    reading = dict(host_id=host_id, bridges=bridges,
                   addresses=ovs_addresses(ctx.addresses.result(), internal))
    if request['return_format'] == 'json':
        return Plan(result={'host_id': host_id, READING_JSON: json.dumps(
            reading, sort_keys=True, separators=(',', ':'))})
    return Plan(result=reading)
