# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""OVSDB ops, maps, their descriptions, row views and errors: nothing beyond Python's own.

An *op* is a small dict such as
``{'op': 'set', 'table': 'Bridge', 'record': 'br0', 'column': 'fail_mode', 'value': 'secure'}``.
The planners (``bridge.py``, ``gre.py``, ``dpdk.py``) build lists of them from plain-dict state
(``bridge_data``, ``open_vswitch_data``) with ``plan_map`` and ``map_ops``; ``describe_op``
gives the line a module returns in ``actions``. ``ovsdb.py`` reads the state and commits the
ops through ovsdbapp; its errors (``OvsdbError``, ``ConflictError``: ``ModuleError``s, which
``plan.run_module`` reports or plans again after) and the argument spec of its options live
here.

Nothing here imports ovsdbapp or the OVS library: filters and planners import this file, and
Ansible imports every filter file of the collection to find one filter.
"""

from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import ModuleError
from ansible_collections.cloudstack.ovs.plugins.module_utils.validate import (
    ParamError,
    check_text,
)

DEFAULT_DB = 'unix:/var/run/openvswitch/db.sock'
DATAPATH_TYPES = ('system', 'netdev')
FAIL_MODES = ('standalone', 'secure')
# How many changes an error message names (all of them with -vvv).
SHOWN_OPS = 3
# Interface columns ovs-vswitchd writes: not part of what a plan depends on.
STATUS_KEYS = ('ofport', 'link_state', 'admin_state', 'error', 'mac_in_use')


def ovsdb_argument_spec():
    """Argument spec of the options documented in the ``cloudstack.ovs.ovsdb`` fragment."""
    return dict(
        db=dict(type='str', default=DEFAULT_DB),
        timeout=dict(type='int', default=10),
        wait=dict(type='bool', default=True),
        ssl_private_key=dict(type='path'),
        ssl_certificate=dict(type='path'),
        ssl_ca_cert=dict(type='path'),
    )


class OvsdbError(ModuleError):
    """A failure talking to OVSDB or ovs-vswitchd (``changed``/``detail`` as ``ModuleError``)."""

    def __init__(self, msg, changed=False, detail=None, retry=False):
        super(OvsdbError, self).__init__(msg, changed=changed, detail=detail, retry=retry)


class ConflictError(OvsdbError):
    """The database changed between the read and the commit; nothing was committed."""

    def __init__(self, msg, detail=None):
        super(ConflictError, self).__init__(msg, detail=detail, retry=True)


def summarize_ops(ops, shown=SHOWN_OPS):
    """``'N changes (first, second, third and N-3 more)'`` for an error message."""
    lines = [describe_op(op) for op in ops[:shown]]
    more = len(ops) - len(lines)
    text = '; '.join(lines) + (' and %d more' % more if more > 0 else '')
    return '%d change%s (%s)' % (len(ops), '' if len(ops) == 1 else 's', text)


# ---------------------------------------------------------------- validation

def validate_db(db):
    """Check the syntax of an OVS connection string; return (kind, target)."""
    if not isinstance(db, str) or ':' not in db:
        raise ParamError("db: %r is not an OVSDB connection string "
                         "(unix:<path>, tcp:<ip>:<port> or ssl:<ip>:<port>)" % (db,))
    check_text('db', db)
    kind, _sep, rest = db.partition(':')
    if kind == 'unix':
        if not rest:
            raise ParamError('db: %r names no socket path' % (db,))
        return kind, rest
    if kind in ('tcp', 'ssl'):
        host, sep, port = rest.rpartition(':')
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ParamError('db: %r needs the form %s:<ip>:<port>' % (db, kind))
        return kind, (host.strip('[]'), int(port))
    raise ParamError("db: %r uses %r; only unix:, tcp: and ssl: are supported" % (db, kind))


# ---------------------------------------------------------------- pure planning helpers

def plan_map(current, desired, purge=False):
    """Work out how a map column has to change.

    ``desired`` maps keys to strings, or to ``None`` for "remove this key".
    Keys not named are kept unless ``purge``.
    Returns ``(after, set_keys, removed_keys)``: the resulting map, the keys to
    write (with their values) and the keys to delete.
    """
    current = dict(current or {})
    desired = desired or {}
    to_set = {}
    to_remove = []
    for key, val in desired.items():
        if val is None:
            if key in current:
                to_remove.append(key)
        elif current.get(key) != val:
            to_set[key] = val
    if purge:
        for key in current:
            if key not in desired and key not in to_remove:
                to_remove.append(key)
    after = dict(current)
    after.update(to_set)
    for key in to_remove:
        after.pop(key, None)
    return after, to_set, sorted(to_remove)


def map_ops(table, record, column, to_set, to_remove):
    """Ops that change only the named keys of a map column."""
    ops = []
    if to_set:
        ops.append(dict(op='set', table=table, record=record, column=column, value=dict(to_set)))
    if to_remove:
        ops.append(dict(op='remove_keys', table=table, record=record, column=column,
                        keys=list(to_remove)))
    return ops


def describe_op(op):
    """One line per op for the ``actions`` a module returns."""
    kind = op['op']
    if kind == 'add_bridge':
        return 'add bridge %s' % op['bridge']
    if kind == 'del_bridge':
        if op.get('ports'):
            return 'delete bridge %s with its ports %s' % (op['bridge'], ', '.join(op['ports']))
        return 'delete bridge %s' % op['bridge']
    if kind == 'add_port':
        return 'add port %s to bridge %s' % (op['port'], op['bridge'])
    if kind == 'del_port':
        return 'delete port %s from bridge %s' % (op['port'], op['bridge'])
    if kind == 'set':
        value = op['value']
        if isinstance(value, dict):
            value = ', '.join('%s=%s' % kv for kv in sorted(value.items()))
        return 'set %s %s %s: %s' % (op['table'], op['record'], op['column'], value)
    if kind == 'remove_keys':
        return 'remove %s %s %s keys: %s' % (op['table'], op['record'], op['column'],
                                             ', '.join(op['keys']))
    if kind == 'clear':
        return 'clear %s %s %s' % (op['table'], op['record'], op['column'])
    raise ValueError('unknown op %r' % (kind,))


# ---------------------------------------------------------------- reading rows

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


# ---------------------------------------------------------------- what a plan depends on

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
