# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Plain-dict views of OVSDB rows, and what of them a plan depends on.

``ovsdb.py`` reads rows through ovsdbapp and hands the planners these dicts; ``plan_view`` and
``ovs_view`` are what a plan read, compared again before its commit. Nothing here imports
ovsdbapp or the OVS library (a row is anything with the columns as attributes).
"""

# Interface columns ovs-vswitchd writes: not part of what a plan depends on.
STATUS_KEYS = ('ofport', 'link_state', 'admin_state', 'error', 'mac_in_use')


def _opt(value):
    """Optional OVSDB columns come back as lists of zero or one element."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def interface_data(row):
    return dict(
        name=row.name,
        type=row.type or 'system',
        options=dict(row.options),
        ofport=_opt(row.ofport),
        external_ids=dict(row.external_ids),
        other_config=dict(row.other_config),
        link_state=_opt(row.link_state),
        admin_state=_opt(row.admin_state),
        error=_opt(row.error),
        mac_in_use=_opt(row.mac_in_use),
    )


def _port_data(row):
    tag = _opt(row.tag)
    return dict(
        name=row.name,
        tag=tag,
        trunks=sorted(row.trunks),
        vlan_mode=_opt(row.vlan_mode),
        protected=bool(getattr(row, 'protected', False)),
        external_ids=dict(row.external_ids),
        other_config=dict(row.other_config),
        interfaces=dict((i.name, interface_data(i)) for i in row.interfaces),
    )


def bridge_data(row):
    """Plain-dict view of a Bridge row with its ports and interfaces."""
    return dict(
        name=row.name,
        datapath_type=row.datapath_type or 'system',
        fail_mode=_opt(row.fail_mode),
        stp_enable=bool(row.stp_enable),
        other_config=dict(row.other_config),
        external_ids=dict(row.external_ids),
        ports=dict((p.name, _port_data(p)) for p in row.ports),
    )


def open_vswitch_data(row):
    """Plain-dict view of the single Open_vSwitch row."""
    dpdk_initialized = getattr(row, 'dpdk_initialized', False)
    return dict(
        ovs_version=_opt(row.ovs_version),
        db_version=_opt(row.db_version),
        system_type=_opt(row.system_type),
        system_version=_opt(row.system_version),
        datapath_types=sorted(row.datapath_types),
        iface_types=sorted(row.iface_types),
        dpdk_initialized=bool(dpdk_initialized),
        dpdk_version=_opt(getattr(row, 'dpdk_version', None)),
        other_config=dict(row.other_config),
        external_ids=dict(row.external_ids),
    )


def plan_view(bridges):
    """What a plan reads of the bridges: everything but the columns ovs-vswitchd keeps writing."""
    view = {}
    for name, bridge in bridges.items():
        bridge = dict(bridge)
        ports = {}
        for pname, port in bridge['ports'].items():
            port = dict(port)
            port['interfaces'] = dict(
                (iname, dict((k, v) for k, v in iface.items() if k not in STATUS_KEYS))
                for iname, iface in port['interfaces'].items())
            ports[pname] = port
        bridge['ports'] = ports
        view[name] = bridge
    return view


def ovs_view(data):
    """What a plan reads of the Open_vSwitch row."""
    return dict(other_config=data['other_config'], external_ids=data['external_ids'])
