# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""OVSDB ops and their descriptions: nothing beyond Python's own.

An *op* is a small dict such as
``{'op': 'set', 'table': 'Bridge', 'record': 'br0', 'column': 'fail_mode', 'value': 'secure'}``.
The planners (``bridge.py``, ``gre.py``, ``dpdk_port.py``) build lists of them from plain-dict
state (``ovsdb_rows``) with ``plan_map`` and ``map_ops``; ``describe_op`` gives the line a module
returns in ``actions``, ``summarize_ops`` the count and first few an error message names.
``ovsdb.py`` commits them through ovsdbapp.

Nothing here imports ovsdbapp or the OVS library: filters and planners import this file, and
Ansible imports every filter file of the collection to find one filter.
"""

# How many changes an error message names (all of them with -vvv).
SHOWN_OPS = 3


def summarize_ops(ops, shown=SHOWN_OPS):
    """``'N changes (first, second, third and N-3 more)'`` for an error message."""
    lines = [describe_op(op) for op in ops[:shown]]
    more = len(ops) - len(lines)
    text = '; '.join(lines) + (' and %d more' % more if more > 0 else '')
    return '%d change%s (%s)' % (len(ops), '' if len(ops) == 1 else 's', text)


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
