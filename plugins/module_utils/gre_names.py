# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The names and markers of CloudStack's GRE isolation, as CloudStack's KVM agent lays it out.

One ``OVSTunnel<key>`` bridge per guest network, one GRE port ``t<key>-<src>-<dst>`` to every
peer host; CloudStack's markers in the bridge's ``other_config`` and this collection's
ownership markers in ``external_ids``. Pure: shared by the planner (``gre.py``), the request
(``gre_request.py``), ``gre_mesh_info`` and the mesh doctor. See docs/gre_network.md.
"""

import re

from ansible_collections.cloudstack.ovs.plugins.module_utils.cloudstack_agent import (
    agent_considers_configured,
)

BRIDGE_PREFIX = 'OVSTunnel'
# CloudStack's tunnel port name: t<key>-<src host id>-<dst host id> (ovstunnel.py create_tunnel).
PORT_NAME_RE = re.compile(r'^t(\d+)-(\d+)-(\d+)$')
# Our own ownership marker, on the bridge and on every tunnel port we create.
OWNER_KEY = 'cloudstack-ovs-owner'
OWNER_VALUE = 'gre_network'
# Set instead on a tunnel port CloudStack's agent made and the module took over: it is managed
# (options, protected) but still not ours to delete in a default run.
ADOPTED_KEY = 'cloudstack-ovs-adopted'
# purge: which unwanted tunnel ports of a managed bridge a run removes.
PURGE_OURS = 'ours'            # only ports this collection created (the owner marker)
PURGE_ALL_STALE = 'all_stale'  # also CloudStack-named ports the agent made
PURGE_NONE = 'none'
PURGE_CHOICES = (PURGE_OURS, PURGE_ALL_STALE, PURGE_NONE)
# CloudStack's markers in the bridge's other_config (ovstunnel.py setup_ovs_bridge and the
# KVM agent's LibvirtComputingResource.configureTunnelNetwork).
CS_GRE_KEY = 'gre_key'
CS_TUN_NETWORK = 'is-ovs-tun-network'
CS_HOST_SETUP = 'ovs-host-setup'
# What of the switch's ports and interfaces gre_network plans from and writes, and what
# gre_mesh_info returns (the mesh doctor judges by gre_network's planner): their sessions
# monitor no other column of the two tables. The rest (VLAN columns, other_config, the
# interfaces' external_ids, admin_state, mac_in_use) was more than a third of gre_mesh_info's
# result on a 1,016-port host, for no reader, and about 40 % of the CPU of the IDL's first copy
# and the views (bench/mesh_read_columns.py).
GRE_PORT_COLUMNS = ('name', 'protected', 'external_ids', 'interfaces')
GRE_INTERFACE_COLUMNS = ('name', 'type', 'options', 'ofport', 'link_state', 'error')
GRE_COLUMNS = {'Port': GRE_PORT_COLUMNS, 'Interface': GRE_INTERFACE_COLUMNS}


def port_name(key, src_host_id, dst_host_id):
    """CloudStack's name of the tunnel from ``src`` to ``dst`` in network ``key``."""
    return 't%d-%d-%d' % (key, src_host_id, dst_host_id)


def default_bridge(key):
    return '%s%d' % (BRIDGE_PREFIX, key)


def is_tunnel_port(port):
    """A port that is ours to manage: CloudStack's naming, or our marker."""
    return bool(PORT_NAME_RE.match(port['name'])) or \
        port.get('external_ids', {}).get(OWNER_KEY) == OWNER_VALUE


def tunnel_ports(bridge):
    """The tunnel ports of a bridge (``bridge_data``): name -> port."""
    return dict((name, port) for name, port in bridge['ports'].items()
                if name != bridge['name'] and is_tunnel_port(port))


def peer_host_id(port):
    """The peer's host id in a CloudStack tunnel name ``t<key>-<src>-<dst>``; else None."""
    match = PORT_NAME_RE.match(port)
    return int(match.group(3)) if match else None


def port_interface(port):
    """The interface of a port (the one named like it, else its first); None when it has none."""
    ifaces = port.get('interfaces') or {}
    return ifaces.get(port['name']) or (list(ifaces.values())[0] if ifaces else None)


def tunnel_view(port):
    iface = port_interface(port) or {}
    options = iface.get('options', {})
    return dict(remote_ip=options.get('remote_ip'), key=options.get('key'),
                local_ip=options.get('local_ip'), type=iface.get('type'))


def wanted_options(key, remote_ip, local_ip):
    options = dict(key=str(key), remote_ip=remote_ip)
    if local_ip is not None:
        options['local_ip'] = local_ip
    return options


def host_setup_value(current, host_id):
    """The ``ovs-host-setup`` value to store so that CloudStack's agent calls the bridge set up.

    The agent reads the value through ``ovs-vsctl get`` (quoted: ``"5,-1"``) and splits the
    printed line on ``,``, so only a middle piece can equal its host id (see
    ``cloudstack_agent.agent_considers_configured``). A value the agent already accepts is kept
    as it is (a fixed point: neither side writes again). Otherwise the value becomes
    ``<id>,<id>,<every other piece already there, in order>,-1`` - where CloudStack's own
    bridges settle (``-1`` at creation, ``<id>,-1`` after one setup, ``<id>,<id>,-1`` after
    the second) - so no id another host or run recorded is lost.
    """
    if agent_considers_configured(current, host_id):
        return current
    me = str(host_id)
    others = [x for x in (current or '').split(',') if x not in ('', me, '-1')]
    return ','.join([me, me] + others + ['-1'])


def bridge_markers(current_other_config, key, bridge, host_id):
    """other_config keys as CloudStack's agent leaves them on a tunnel bridge."""
    current = current_other_config or {}
    gre_key = current.get(CS_GRE_KEY)
    # The KVM agent passes the bridge name as --key to setup_ovs_bridge, so CloudStack's own
    # hosts carry gre_key=OVSTunnel<key>; both spellings mean this network: keep either.
    if gre_key not in (str(key), bridge):
        gre_key = str(key)
    return {CS_GRE_KEY: gre_key, CS_TUN_NETWORK: 'True',
            CS_HOST_SETUP: host_setup_value(current.get(CS_HOST_SETUP), host_id)}


def is_ours(port):
    """Created by this collection (only those are removed by ``purge=ours``)."""
    return port.get('external_ids', {}).get(OWNER_KEY) == OWNER_VALUE
