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


def _same(value):
    return value


def _type(value):
    return value or 'system'


# The columns of the Interface and Port views (what ``interface_data`` and ``_port_data`` return
# by default) and how each becomes a plain value.
INTERFACE_COLUMNS = ('name', 'type', 'options', 'ofport', 'external_ids', 'other_config',
                     'link_state', 'admin_state', 'error', 'mac_in_use')
_INTERFACE_VALUE = dict(name=_same, type=_type, options=dict, ofport=_opt, external_ids=dict,
                        other_config=dict, link_state=_opt, admin_state=_opt, error=_opt,
                        mac_in_use=_opt)
PORT_COLUMNS = ('name', 'tag', 'trunks', 'vlan_mode', 'protected', 'external_ids',
                'other_config', 'interfaces')
_PORT_VALUE = dict(name=_same, tag=_opt, trunks=sorted, vlan_mode=_opt, external_ids=dict,
                   other_config=dict)


def interface_data(row, columns=INTERFACE_COLUMNS):
    """Plain-dict view of an Interface row: ``columns`` (of ``INTERFACE_COLUMNS``) only, so that
    a session that monitors no more can be read."""
    return dict((column, _INTERFACE_VALUE[column](getattr(row, column))) for column in columns)


def _port_data(row, columns=PORT_COLUMNS, interface_columns=INTERFACE_COLUMNS):
    data = {}
    for column in columns:
        if column == 'interfaces':
            data[column] = dict((i.name, interface_data(i, interface_columns))
                                for i in row.interfaces)
        elif column == 'protected':  # as before: false on a schema without the column
            data[column] = bool(getattr(row, 'protected', False))
        else:
            data[column] = _PORT_VALUE[column](getattr(row, column))
    return data


def bridge_data(row, port_columns=PORT_COLUMNS, interface_columns=INTERFACE_COLUMNS):
    """Plain-dict view of a Bridge row with its ports and interfaces (of these, the columns
    given: ``PORT_COLUMNS`` and ``INTERFACE_COLUMNS`` unless a reader needs fewer)."""
    return dict(
        name=row.name,
        datapath_type=row.datapath_type or 'system',
        fail_mode=_opt(row.fail_mode),
        stp_enable=bool(row.stp_enable),
        other_config=dict(row.other_config),
        external_ids=dict(row.external_ids),
        ports=dict((p.name, _port_data(p, port_columns, interface_columns)) for p in row.ports),
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
