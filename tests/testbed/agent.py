# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""A replay of CloudStack's KVM agent on a lab host's Open vSwitch.

It runs, on the host (its namespaces, its default database socket), the ovs-vsctl command lines
the agent runs for GRE tunnel networks and DPDK vhost-user ports, so tests and the lab can put
CloudStack's own state on a switch and check that the collection lives with it. Written from
the documented facts (docs/gre_network.md, docs/dpdk.md; sources named there:
``LibvirtComputingResource.findOrCreateTunnelNetwork`` / ``configureTunnelNetwork``,
``LibvirtOvsCreateTunnelCommandWrapper``, ``scripts/vm/network/vnet/ovstunnel.py``
``setup_ovs_bridge`` / ``create_tunnel``, ``DpdkDriverImpl``), not from CloudStack's code.

What the agent does, and so what this does:

* a shell command is judged like ``Script.runSimpleBashScript``: the first line of standard
  output, trimmed, or None when the exit code is not 0 or that line is blank;
* bridges are made with the kernel datapath (the agent sets no ``datapath_type``), so on this
  testbed an agent-made bridge does not forward until something sets ``netdev``;
* ``create_tunnel`` is a plain ``add-port``: it fails when the port exists, and the agent's
  wrapper reports that as success; on Python 3 agents it adds no flows (see docs).
"""

import re
import shlex

DPDK_PREFIX = 'csdpdk-'


class AgentReplay(object):
    """CloudStack's KVM agent, host ``host_id``, on one lab host (``LabHost``)."""

    def __init__(self, host, host_id=None):
        self.host = host
        self.host_id = host.host_id if host_id is None else host_id
        self.log = []  # every command line run, with its exit code

    # ------------------------------------------------------------------ running commands

    def shell(self, command):
        """``command`` through a shell on the host, as Script.runSimpleBashScript does.

        Returns the first output line trimmed, or None (exit code not 0, or blank line).
        """
        proc = self.host.ovs.run('bash', '-c', command, check=False, timeout=60)
        self.log.append((command, proc.returncode))
        first = proc.stdout.split('\n', 1)[0].strip()
        if proc.returncode != 0 or not first:
            return None
        return first

    def vsctl(self, *args):
        """``ovs-vsctl ARGS`` as the Python script runs it (an argument list, no shell)."""
        cmd = ['ovs-vsctl'] + list(args)
        proc = self.host.ovs.run(*cmd, check=False, timeout=60)
        self.log.append((' '.join(shlex.quote(a) for a in cmd), proc.returncode))
        return proc

    # ------------------------------------------------------------------ GRE tunnel networks

    def find_or_create_bridge(self, bridge):
        """findOrCreateTunnelNetwork: create the bridge only when ``br-exists`` fails
        (checkOvsNetwork: ``/bin/sh -c "ovs-vsctl br-exists <br>"``, exit code 0)."""
        command = 'ovs-vsctl br-exists %s' % bridge
        proc = self.host.ovs.run('/bin/sh', '-c', command, check=False, timeout=60)
        self.log.append((command, proc.returncode))
        if proc.returncode == 0:
            return False
        self.shell("ovs-vsctl -- --may-exist add-br %s -- set bridge %s "
                   "other_config:ovs-host-setup='-1'" % (bridge, bridge))
        return True

    def host_setup_printed(self, bridge):
        """What the agent reads: ``ovs-vsctl get bridge <br> other_config:ovs-host-setup``,
        first line trimmed (None when the command fails)."""
        return self.shell('ovs-vsctl get bridge %s other_config:ovs-host-setup' % bridge)

    def is_configured(self, bridge):
        """configureTunnelNetwork's test: the printed value split on ',' holds the host id."""
        printed = self.host_setup_printed(bridge)
        return printed is not None and str(self.host_id) in printed.split(',')

    def setup_ovs_bridge(self, bridge):
        """ovstunnel.py setup_ovs_bridge --key <br> --cs_host_id <id> --bridge <br>."""
        self.vsctl('set', 'bridge', bridge, 'other_config:gre_key=%s' % bridge)
        self.vsctl('set', 'Bridge', bridge, 'stp_enable=true')
        self.vsctl('set', 'bridge', bridge, 'other_config:is-ovs-tun-network=True')
        previous = self.vsctl('get', 'bridge', bridge, 'other_config:ovs-host-setup')
        value = str(self.host_id)
        printed = previous.stdout.strip() if previous.returncode == 0 else ''
        if printed:
            # the script reads the printed value as a Python literal: quotes go away
            value += ',' + _unquote(printed)
        self.vsctl('set', 'bridge', bridge, 'other_config:ovs-host-setup=%s' % value)

    def configure_network(self, bridge):
        """configureTunnelNetwork: set the bridge up unless the check says it is. Returns
        True when it ran the setup."""
        if self.is_configured(bridge):
            return False
        self.setup_ovs_bridge(bridge)
        return True

    def create_tunnel(self, bridge, key, dst_host_id, remote_ip):
        """ovstunnel.py create_tunnel; True when add-port succeeded (the agent does not care)."""
        name = 't%d-%d-%d' % (key, self.host_id, dst_host_id)
        self.vsctl('--timeout=30', 'wait-until', 'bridge', bridge, '--', 'get', 'bridge', bridge,
                   'name')
        proc = self.vsctl('add-port', bridge, name, '--', 'set', 'interface', name, 'type=gre',
                          'options:key=%d' % key, 'options:remote_ip=%s' % remote_ip)
        return proc.returncode == 0

    def ovs_create_tunnel_command(self, key, dst_host_id, remote_ip):
        """What the agent does for one OvsCreateTunnelCommand (one peer of one network):
        find or create the bridge, configure it, create the tunnel.

        Returns a dict of what happened, for tests and the lab report."""
        bridge = 'OVSTunnel%d' % key
        created = self.find_or_create_bridge(bridge)
        setup = self.configure_network(bridge)
        added = self.create_tunnel(bridge, key, dst_host_id, remote_ip)
        return dict(bridge=bridge, bridge_created=created, setup_ran=setup, port_added=added)

    # ------------------------------------------------------------------ DPDK vhost-user ports

    def next_dpdk_port(self):
        """DpdkDriverImpl's next port name, from its shell pipeline."""
        last = self.shell("ovs-vsctl show | grep Port | grep %s | awk '{ print $2 }' | "
                          "sort -rV | head -1" % DPDK_PREFIX)
        number = 0
        if last:
            number = int(last.replace('"', '').split(DPDK_PREFIX)[1])
        return '%s%d' % (DPDK_PREFIX, number + 1)

    def add_dpdk_port(self, bridge, vlan=0, client=True, ovs_path='/var/run/openvswitch'):
        """DpdkDriverImpl.addDpdkPort with the agent's path (``dpdkOvsPath`` ends in ``/``).

        Returns the port name."""
        port = self.next_dpdk_port()
        command = 'ovs-vsctl add-port %s %s ' % (bridge, port)
        if 0 < int(vlan) < 4095:
            command += 'vlan_mode=access tag=%s ' % vlan
        command += '-- set Interface %s type=%s' % (
            port, 'dpdkvhostuserclient' if client else 'dpdkvhostuser')
        if client:
            command += ' options:vhost-server-path=%s/%s' % (ovs_path.rstrip('/') + '/', port)
        self.shell(command)
        return port


def _unquote(printed):
    """A value printed by ``ovs-vsctl get`` as the Python literal the script evaluates."""
    match = re.match(r'^"(.*)"$', printed)
    if not match:
        return printed
    return match.group(1).replace('\\"', '"').replace('\\\\', '\\')


def replay_mesh(lab, keys, hosts=None, rounds=1):
    """The agent on every host (``hosts``, default all) for every network: one
    OvsCreateTunnelCommand per peer, as the management server sends them. Returns the
    per-host list of results."""
    results = {}
    members = list(lab.hosts)
    for host in hosts or members:
        agent = AgentReplay(host)
        out = []
        for _round in range(rounds):
            for key in keys:
                for peer in members:
                    if peer is not host:
                        out.append(agent.ovs_create_tunnel_command(key, peer.host_id,
                                                                   peer.mgmt_ip))
        results[host.name] = out
    return results
