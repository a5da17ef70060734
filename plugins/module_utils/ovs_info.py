# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The facts ``ovs_info`` reports of a host: the switch and the agent's ``dpdk`` capability.

``plan_facts`` shapes a database snapshot (``OvsdbSession.snapshot()``: the Open_vSwitch row
and every bridge) into the module's return values - bridges with their ports in name order,
every tunnel interface flattened - and adds whether CloudStack's agent reports the ``dpdk``
host capability, by the one rule of ``dpdk.cloudstack_dpdk_capability``, from agent.properties
as ``read_agent_properties`` reads it. An info module's ``Plan``: no ops, no actions.
"""

from ansible_collections.cloudstack.ovs.plugins.module_utils.dpdk import (
    cloudstack_dpdk_capability,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import ModuleError, ParamError
from ansible_collections.cloudstack.ovs.plugins.module_utils.plan import Plan
from ansible_collections.cloudstack.ovs.plugins.module_utils.properties import (
    PropertiesError,
    as_dict,
    parse,
    read_file,
)

TUNNEL_TYPES = ('gre', 'ip6gre', 'vxlan', 'geneve', 'stt', 'erspan', 'ip6erspan')


def facts_from_snapshot(snapshot, only=None):
    """Pure: shape the database snapshot into the module's return value."""
    facts = dict(snapshot['open_vswitch'])
    bridges = []
    tunnels = []
    for name in sorted(snapshot['bridges']):
        if only and name not in only:
            continue
        bridge = snapshot['bridges'][name]
        ports = []
        for pname in sorted(bridge['ports']):
            port = bridge['ports'][pname]
            ifaces = [port['interfaces'][i] for i in sorted(port['interfaces'])]
            ports.append(dict(port, interfaces=ifaces))
            for iface in ifaces:
                if iface['type'] in TUNNEL_TYPES:
                    tunnels.append(dict(
                        bridge=name, name=iface['name'], type=iface['type'],
                        remote_ip=iface['options'].get('remote_ip'),
                        local_ip=iface['options'].get('local_ip'),
                        key=iface['options'].get('key'), ofport=iface['ofport'],
                        link_state=iface['link_state'], external_ids=iface['external_ids']))
        bridges.append(dict(bridge, ports=ports))
    facts['bridges'] = bridges
    facts['tunnels'] = tunnels
    return facts


def read_agent_properties(path):
    """agent.properties as the agent reads it (last occurrence wins); {} when missing."""
    try:
        text = read_file(path)
    except (IOError, OSError) as exc:
        raise ModuleError('agent_properties: cannot read %s: %s' % (path, exc.strerror or exc),
                          field='agent_properties')
    if text is None:
        return {}
    try:
        return as_dict(parse(text))
    except PropertiesError as exc:  # its message names the line
        raise ParamError('agent_properties: %s: %s' % (path, exc))


def plan_facts(snapshot, bridges, agent_properties):
    """The facts of ``ovs_info`` as a ``Plan`` without ops or actions.

    ``bridges``: only these (all when empty); each must exist. ``agent_properties``: the file's
    keys as ``read_agent_properties`` returns them.
    """
    missing = [b for b in bridges if b not in snapshot['bridges']]
    if missing:
        raise ParamError('bridges: no such bridge: %s' % ', '.join(missing))
    facts = facts_from_snapshot(snapshot, bridges)
    facts['cloudstack_dpdk'] = cloudstack_dpdk_capability(agent_properties)
    facts['cloudstack_dpdk_capable'] = facts['cloudstack_dpdk']['capable']
    return Plan(actions=None, result=facts)
