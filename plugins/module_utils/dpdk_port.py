# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""One vhost-user port as CloudStack's KVM agent creates it: the ``dpdk_port`` module's
request and its pure plan.

``dpdk_port_request`` checks every parameter once, before the database is read (the spec's
``choices`` and ``required_if`` already limit ``mode``, ``state`` and which of ``bridge`` and
``name`` is given). ``plan_dpdk_port`` trusts it: from ``OvsdbSession.snapshot()`` it finds or
names the port (``dpdk.next_port_name``), refuses what it must not change (a bridge that cannot
carry the port, a port that is not vhost-user) and returns a ``Plan`` whose result holds the
port's name and, with ``state=present``, its socket and the guest's interface XML. The facts
about the agent are in ``dpdk.py``'s docstring.
"""

import posixpath

from ansible_collections.cloudstack.ovs.plugins.module_utils.dpdk import (
    DEFAULT_OVS_PATH,
    GUEST_MODES,
    PORT_RE,
    PORT_TYPES,
    SERVER_PATH_OPTION,
    interface_element,
    interface_xml,
    next_port_name,
    socket_path,
    validate_mac,
    validate_ovs_path,
    validate_tag,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import ParamError
from ansible_collections.cloudstack.ovs.plugins.module_utils.ovsdb_ops import (
    describe_op,
    map_ops,
    plan_map,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.plan import Plan
from ansible_collections.cloudstack.ovs.plugins.module_utils.validate import (
    check_text,
    normalize_map,
    validate_ifname,
)


def dpdk_port_request(params):
    """The ``dpdk_port`` parameters, checked and normalised once: the VLAN, the socket
    directory, the MAC (lower case), the model, the interface names, ``external_ids`` (strings,
    no nulls) and, with ``state=present``, the ``interface_extra`` fragments."""
    request = dict(params)
    request['tag'] = validate_tag('tag', params['tag'])
    request['ovs_path'] = validate_ovs_path('ovs_path', params['ovs_path'])
    request['mac'] = validate_mac('mac', params['mac'])
    check_text('model', params['model'])
    external_ids = normalize_map('external_ids', params['external_ids'])
    if external_ids and any(v is None for v in external_ids.values()):
        raise ParamError('external_ids: values may not be null (got %r)' % (external_ids,))
    request['external_ids'] = external_ids
    for field in ('bridge', 'name'):
        if params[field] is not None:
            validate_ifname(field, params[field])
    if params['state'] == 'present':
        # The fragments do not depend on the socket path (the name may be chosen only when
        # the database is read): build the element once here to check them before any read.
        interface_element('', GUEST_MODES[params['mode']], request['mac'], params['model'],
                          params['interface_extra'])
    return request


def desired_columns(mode, name, ovs_path, tag):
    """Port and Interface columns of a vhost-user port as CloudStack's agent creates it.

    Returns ``(port_columns, interface_type, interface_options)``; ``interface_options``
    maps ``vhost-server-path`` to a path (client mode) or to None (server mode: must be absent).
    """
    port_columns = {'tag': tag, 'vlan_mode': 'access' if tag is not None else None}
    if mode == 'client':
        options = {SERVER_PATH_OPTION: socket_path(ovs_path, name)}
    else:
        options = {SERVER_PATH_OPTION: None}
    return port_columns, PORT_TYPES[mode], options


def port_view(port, bridge):
    """What the diff shows of a vhost-user port."""
    if port is None:
        return {}
    iface = port['interfaces'].get(port['name']) or {}
    return dict(name=port['name'], bridge=bridge, tag=port.get('tag'),
                vlan_mode=port.get('vlan_mode'), type=iface.get('type'),
                options=dict(sorted((iface.get('options') or {}).items())),
                external_ids=dict(sorted((iface.get('external_ids') or {}).items())))


def find_port(bridges, name):
    """``(bridge_name, port)`` of the port called ``name`` on any bridge, or (None, None)."""
    for bname, bridge in bridges.items():
        port = bridge.get('ports', {}).get(name)
        if port is not None:
            return bname, port
    return None, None


def find_port_by_external_ids(bridge, external_ids):
    """A ``csdpdk-N`` port of ``bridge`` whose interface carries all of ``external_ids``."""
    if not external_ids:
        return None
    for pname in sorted(bridge.get('ports', {}), key=lambda n: (len(n), n)):
        if not PORT_RE.match(pname):
            continue
        iface = bridge['ports'][pname]['interfaces'].get(pname) or {}
        have = iface.get('external_ids') or {}
        if all(have.get(k) == v for k, v in external_ids.items()):
            return pname
    return None


def check_dpdk_ready(open_vswitch, bridge_name, bridge):
    """Fail clearly when OVS cannot carry a vhost-user port on this bridge."""
    if bridge is None:
        raise ParamError('bridge: no such bridge %r (create it with cloudstack.ovs.ovs_bridge, '
                         'datapath_type netdev)' % (bridge_name,))
    if bridge['datapath_type'] != 'netdev':
        raise ParamError("bridge: %r has datapath_type %r; vhost-user ports need a userspace "
                         "(netdev) bridge" % (bridge_name, bridge['datapath_type']))
    if not open_vswitch.get('dpdk_initialized'):
        dpdk_init = (open_vswitch.get('other_config') or {}).get('dpdk-init', 'unset')
        raise ParamError('bridge: DPDK is not initialised in this ovs-vswitchd (dpdk_initialized '
                         'is false, other_config:dpdk-init is %s); vhost-user ports cannot be '
                         'created on %r (run the cloudstack.ovs.dpdk role)'
                         % (dpdk_init, bridge_name))


def check_vhost_user(name, bridge, port):
    """Refuse to change or delete a port that is not a vhost-user port (the bridge's own
    internal port, a VM's tap, a tunnel ...): this module owns vhost-user ports only."""
    types = sorted(set((iface or {}).get('type') or 'system'
                       for iface in port['interfaces'].values())) or ['none']
    if any(t not in PORT_TYPES.values() for t in types):
        raise ParamError('name: port %r on bridge %r has interface type %s, not %s; this module '
                         'changes only vhost-user ports and will not retype or delete it (got %r)'
                         % (name, bridge, ', '.join(types),
                            ' or '.join(sorted(PORT_TYPES.values())), name))


def plan_dpdk_port(snapshot, bridge, name=None, mode='server', tag=None,
                   ovs_path=DEFAULT_OVS_PATH, state='present', external_ids=None, mac=None,
                   model='virtio', interface_extra=None):
    """The ``Plan`` for one vhost-user port; the values are as ``dpdk_port_request`` returns.

    ``snapshot`` is ``OvsdbSession.snapshot()``. ``name`` None: the port on ``bridge`` whose
    interface has all of ``external_ids`` (when given), else the next free ``csdpdk-N``.
    ``mac``, ``model`` and ``interface_extra`` go into the returned interface XML only.
    """
    external_ids = external_ids or {}
    bridges = snapshot['bridges']

    if state == 'absent':
        where, port = find_port(bridges, name)
        if port is None:
            return _plan([], name, {}, {})
        if bridge is not None and where != bridge:
            raise ParamError('name: port %r is on bridge %r, not on %r' % (name, where, bridge))
        check_vhost_user(name, where, port)
        return _plan([dict(op='del_port', bridge=where, port=name)], name,
                     port_view(port, where), {})

    current_bridge = bridges.get(bridge)
    check_dpdk_ready(snapshot['open_vswitch'], bridge, current_bridge)
    if name is None:
        name = find_port_by_external_ids(current_bridge, external_ids) or next_port_name(bridges)
        validate_ifname('name', name)
    ops, before, after = _port_ops(bridges, bridge, name, mode, ovs_path, tag, external_ids)
    path = socket_path(ovs_path, name)
    guest_mode = GUEST_MODES[mode]
    present = dict(port_type=PORT_TYPES[mode], socket_path=path, guest_mode=guest_mode,
                   interface_xml=interface_xml(path, guest_mode, mac, model, interface_extra))
    return _plan(ops, name, before, after, present)


def _port_ops(bridges, bridge, name, mode, ovs_path, tag, external_ids):
    """``(ops, before, after)`` that create or repair the port ``name`` on ``bridge``."""
    where, port = find_port(bridges, name)
    if port is not None and where != bridge:
        raise ParamError('name: port %r already exists on bridge %r, not on %r'
                         % (name, where, bridge))
    if port is not None and (len(port['interfaces']) != 1 or name not in port['interfaces']):
        raise ParamError('name: port %r has interfaces %s; a vhost-user port has exactly one, '
                         'of the same name' % (name, ', '.join(sorted(port['interfaces']))))
    if port is not None:
        check_vhost_user(name, bridge, port)

    port_cols, iface_type, options = desired_columns(mode, name, ovs_path, tag)
    if port is None:
        add = dict(op='add_port', bridge=bridge, port=name,
                   port_columns=dict((k, v) for k, v in port_cols.items() if v is not None),
                   iface_columns=dict(type=iface_type))
        wanted_options = dict((k, v) for k, v in options.items() if v is not None)
        if wanted_options:
            add['iface_columns']['options'] = wanted_options
        if external_ids:
            add['iface_columns']['external_ids'] = external_ids
        after = dict(name=name, tag=port_cols['tag'], vlan_mode=port_cols['vlan_mode'],
                     interfaces={name: dict(type=iface_type, options=wanted_options,
                                            external_ids=external_ids)})
        return [add], {}, port_view(after, bridge)

    ops = []
    iface = port['interfaces'][name]
    after = dict(port, interfaces={name: dict(iface)})
    new_iface = after['interfaces'][name]
    for column in ('tag', 'vlan_mode'):
        if port.get(column) != port_cols[column]:
            if port_cols[column] is None:
                ops.append(dict(op='clear', table='Port', record=name, column=column))
            else:
                ops.append(dict(op='set', table='Port', record=name, column=column,
                                value=port_cols[column]))
            after[column] = port_cols[column]
    if iface['type'] != iface_type:
        ops.append(dict(op='set', table='Interface', record=name, column='type',
                        value=iface_type))
        new_iface['type'] = iface_type
    current_path = (iface.get('options') or {}).get(SERVER_PATH_OPTION)
    if current_path and options.get(SERVER_PATH_OPTION) and \
            posixpath.normpath(current_path) == options[SERVER_PATH_OPTION]:
        # The agent writes <dir>/ + /<port> ("...//csdpdk-3"): the same socket, kept as it is.
        options = dict(options, **{SERVER_PATH_OPTION: current_path})
    for column, wanted in (('options', options), ('external_ids', external_ids)):
        new_map, to_set, to_remove = plan_map(iface.get(column) or {}, wanted)
        ops.extend(map_ops('Interface', name, column, to_set, to_remove))
        new_iface[column] = new_map
    return ops, port_view(port, bridge), port_view(after, bridge)


def _plan(ops, name, before, after, present=None):
    result = dict(present or {}, port=name)
    return Plan(ops, before, after, actions=[describe_op(op) for op in ops], result=result)
