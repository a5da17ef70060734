# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The flow table of a GRE tunnel bridge: what it should hold, how installed flows compare, and
``Flows``, which reads and writes it through ovs-ofctl (each call bounded, see ``ofctl.py``).

The pure half (``desired_flows``, ``installed_flows``, ``compare_flows``/``flow_diff``,
``flow_lines``, ``normalize_flow``) is what
``gre_network`` plans with and ``gre_mesh_info`` and the mesh doctor check against. Flows are
not in OVSDB: ``gre_network`` writes them after its transaction, when the tunnels have their
ofports. See docs/gre_network.md for why the split-horizon entries say NORMAL, not drop.
"""

import re
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import OvsdbError
from ansible_collections.cloudstack.ovs.plugins.module_utils.ofctl import (
    PORT_MOD_PROTOCOL,
    Ofctl,
)

# Priority of CloudStack's split-horizon entries; everything else goes through NORMAL.
SPLIT_HORIZON_PRIORITY = 1000
BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff'
LINK_LOCAL_MCAST = '224.0.0.0/24'
# How many bridges' flows are read at once: each read is an ovs-ofctl process that mostly waits.
FLOW_READERS = 4


def desired_flows(tunnel_ofports):
    """The flow table of a tunnel bridge, as ``ovs-ofctl --no-names`` prints it.

    ``tunnel_ofports`` maps tunnel port names to ofports (an unknown ofport, in check mode
    for a port not created yet, is shown as ``<name>``). Per tunnel port, CloudStack's two
    split-horizon entries (broadcast, and link-local multicast 224.0.0.0/24, coming in from
    the tunnel) at its priority; their action is NORMAL, which on these bridges never
    forwards a frame from one tunnel port into another because tunnel ports are
    ``protected`` (see docs/gre_network.md: CloudStack's literal ``drop`` would also cut
    ARP between hosts on KVM). Everything else: NORMAL.
    """
    flows = []
    for name in sorted(tunnel_ofports, key=lambda n: (str(tunnel_ofports[n]), n)):
        ofport = tunnel_ofports[name]
        in_port = str(ofport) if isinstance(ofport, int) and ofport > 0 else '<%s>' % name
        flows.append('priority=%d,in_port=%s,dl_dst=%s actions=NORMAL'
                     % (SPLIT_HORIZON_PRIORITY, in_port, BROADCAST_MAC))
        flows.append('priority=%d,ip,in_port=%s,nw_dst=%s actions=NORMAL'
                     % (SPLIT_HORIZON_PRIORITY, in_port, LINK_LOCAL_MCAST))
    flows.append('priority=0 actions=NORMAL')
    return flows


# Counters and ages, and flow-mod flags that do not change forwarding (a flow added with
# OpenFlow 1.0 is dumped with reset_counts under 1.4, ours without).
_FLOW_NOISE = ('cookie=', 'duration=', 'n_packets=', 'n_bytes=', 'idle_age=', 'hard_age=',
               'reset_counts', 'send_flow_rem', 'check_overlap', 'no_packet_counts',
               'no_byte_counts', 'importance=')


def normalize_flow(line):
    """One flow line (dump-flows or our own syntax) -> a comparable, hashable tuple.

    Counters, ages and durations are dropped, match fields compared as a set, ``table=0``
    and a missing priority mean their defaults, actions compared case-insensitively.
    Returns None for lines that are no flow (headers, blank lines).
    """
    line = line.strip()
    if line.startswith('actions='):
        match_part, actions = '', line[len('actions='):]
    elif ' actions=' in line:
        match_part, actions = line.split(' actions=', 1)
    else:
        return None
    fields = set()
    table = '0'
    priority = '32768'
    for token in match_part.replace(' ', ',').split(','):
        token = token.strip()
        if not token or token.startswith(_FLOW_NOISE):
            continue
        if token.startswith('table='):
            table = token.split('=', 1)[1]
        elif token.startswith('priority='):
            priority = token.split('=', 1)[1]
        else:
            fields.add(token.lower())
    return (int(table), int(priority), frozenset(fields), actions.strip().lower())


# Flow lines already parsed: the tunnel bridges of a host (and the hosts the mesh doctor reads)
# hold the same lines over and over, as ofports count from 1 on every bridge.
_PARSED = {}
_PARSED_MAX = 1 << 16


def parsed_flow(line):
    """``(normalize_flow(line), line without counters and flags)``, each line parsed once."""
    hit = _PARSED.get(line)
    if hit is None:
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        flow = normalize_flow(line)
        hit = _PARSED[line] = (flow, _clean_flow_line(line) if flow is not None else None)
    return hit


def installed_flows(text):
    """``ovs-ofctl dump-flows`` output -> {normalised flow: its line without counters and flags}.

    The reply header ("NXST_FLOW reply ...") and blank lines are no flows.
    """
    installed = {}
    for line in text.splitlines():
        if 'FLOW reply' in line:
            continue
        flow, clean = parsed_flow(line)
        if flow is not None:
            installed[flow] = clean
    return installed


def compare_flows(installed, desired):
    """``installed_flows`` against the desired lines; return (added, removed) as lines.

    ``added`` are desired lines not installed; ``removed`` are installed lines (as
    printed) that are not desired. Both empty means nothing to do.
    """
    wanted = dict((parsed_flow(line)[0], line) for line in desired)
    added = [wanted[f] for f in wanted if f not in installed]
    removed = sorted(installed[f] for f in installed if f not in wanted)
    return added, removed


def flow_diff(installed_text, desired):
    """``compare_flows`` of dump-flows output."""
    return compare_flows(installed_flows(installed_text), desired)


def flow_lines(text):
    """dump-flows output -> its flows as lines without counters and flags, sorted."""
    return sorted(installed_flows(text).values())


def _clean_flow_line(line):
    tokens = []
    match_part, sep, actions = line.strip().partition(' actions=')
    for token in match_part.replace(' ', ',').split(','):
        # table=0: printed with the counters only (``--no-stats`` leaves the default out)
        if token and not token.startswith(_FLOW_NOISE) and token != 'table=0':
            tokens.append(token)
    return ','.join(tokens) + sep + actions


class Flows(Ofctl):
    """The flow tables of the tunnel bridges (see module_utils/ofctl.py for the bounds)."""

    def dump(self, bridge):
        rc, out, err = self.dump_flows(bridge)
        if rc != 0:
            raise OvsdbError('flows: cannot read the flows of bridge %s through %s: %s'
                             % (bridge, self.target(bridge), (err or out).strip()[:500]))
        return out

    def dump_all(self, bridges):
        """``dump`` of each bridge, a few at a time; bridge -> dump-flows output."""
        bridges = list(bridges)
        if not bridges:
            return {}
        with ThreadPoolExecutor(max_workers=FLOW_READERS) as pool:
            return dict(zip(bridges, pool.map(self.dump, bridges)))

    def reflood(self, bridge):
        """Make ovs-vswitchd work out again which ports a flood may use.

        Open vSwitch 3.1 keeps a port out of floods when spanning tree moved it to forwarding,
        and still after STP is turned off (the system test of the mesh doctor shows it); a
        port's flood flag toggled (OpenFlow port-mod, no OVSDB write) recomputes it. Ports
        someone set to no-flood are left as they are.
        """
        deadline = time.time() + self.timeout
        while True:
            # ovs-vswitchd applies stp_enable=false after the transaction: the ports' STP
            # states leave their descriptions then.
            rc, out, err = self.run(bridge, ['dump-ports-desc', self.target(bridge)],
                                    protocol=PORT_MOD_PROTOCOL)
            if rc != 0:
                raise OvsdbError('flows: cannot read the ports of bridge %s: %s'
                                 % (bridge, (err or out).strip()))
            if 'STP_' not in out or time.time() > deadline:
                break
            time.sleep(0.1)
        for ofport, config in re.findall(r'^\s*(\d+)\([^)]*\):.*?\n\s*config:\s*([^\n]*)', out,
                                         re.M | re.S):
            if 'NO_FLOOD' in config:
                continue
            for mode in ('no-flood', 'flood'):
                rc, out2, err = self.run(bridge, ['mod-port', self.target(bridge), ofport, mode],
                                         protocol=PORT_MOD_PROTOCOL)
                if rc != 0:
                    raise OvsdbError('flows: cannot set %s on port %s of bridge %s: %s'
                                     % (mode, ofport, bridge, (err or out2).strip()))

    def replace(self, bridge, flows):
        """Set the bridge's flow table to ``flows`` at once (an OpenFlow 1.4 bundle)."""
        rc, out, err = self.run(bridge, ['--bundle', 'replace-flows', self.target(bridge), '-'],
                                data='\n'.join(flows) + '\n')
        if rc != 0:
            raise OvsdbError('flows: replacing the flows of bridge %s failed (nothing changed, '
                             'the bundle is atomic): %s' % (bridge, (err or out).strip()[:500]))
