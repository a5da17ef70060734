# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Pure planning for one OVS bridge: current state + wanted state -> ops and diff.

Shared by ``ovs_bridge`` and by modules that own bridges of their own (the GRE
mesh's ``OVSTunnel<key>`` bridges).
"""

from ansible_collections.cloudstack.ovs.plugins.module_utils.ovsdb_ops import (
    describe_op,
    map_ops,
    plan_map,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.plan import Plan
from ansible_collections.cloudstack.ovs.plugins.module_utils.validate import (
    normalize_map,
    validate_ifname,
)


def bridge_view(bridge):
    """What the diff shows of a bridge (ports summarised by name)."""
    if bridge is None:
        return {}
    return dict(
        name=bridge['name'],
        datapath_type=bridge['datapath_type'],
        fail_mode=bridge['fail_mode'],
        other_config=dict(sorted(bridge['other_config'].items())),
        external_ids=dict(sorted(bridge['external_ids'].items())),
        ports=sorted(bridge.get('ports', {})),
    )


def bridge_request(params):
    """The ``ovs_bridge`` parameters, checked and normalised once, before anything is read.

    ``choices`` in the argument spec already limit ``state``, ``datapath_type`` and
    ``fail_mode``; what a spec cannot say is checked here: the name in bytes, the maps' values.
    """
    validate_ifname('name', params['name'])
    request = dict(params)
    request['other_config'] = normalize_map('other_config', params['other_config'])
    request['external_ids'] = normalize_map('external_ids', params['external_ids'])
    return request


def plan_bridge(current, name, state='present', datapath_type=None, fail_mode=None,
                other_config=None, external_ids=None, purge_other_config=False,
                purge_external_ids=False):
    """The ``Plan`` for one bridge; its ``after`` is the bridge as the diff shows it.

    ``current`` is the bridge as ``ovsdb_rows.bridge_data`` returns it, or ``None``. The values
    are checked already (``bridge_request``, or the caller's own names). Options left at
    ``None`` are not managed: an existing value stays as it is.
    """
    before = bridge_view(current)

    if state == 'absent':
        ops = [] if current is None else [dict(op='del_bridge', bridge=name)]
        return _plan(ops, before, {})

    ops = []
    if current is None:
        current = dict(name=name, datapath_type=datapath_type or 'system', fail_mode=None,
                       other_config={}, external_ids={}, ports={name: None})
        ops.append(dict(op='add_bridge', bridge=name, datapath_type=datapath_type or ''))
    elif datapath_type is not None and current['datapath_type'] != datapath_type:
        ops.append(dict(op='set', table='Bridge', record=name, column='datapath_type',
                        value=datapath_type))

    after = dict(current)
    if datapath_type is not None:
        after['datapath_type'] = datapath_type
    if fail_mode is not None and current['fail_mode'] != fail_mode:
        ops.append(dict(op='set', table='Bridge', record=name, column='fail_mode',
                        value=fail_mode))
        after['fail_mode'] = fail_mode

    for column, wanted, purge in (('other_config', other_config, purge_other_config),
                                  ('external_ids', external_ids, purge_external_ids)):
        if wanted is None and not purge:
            continue
        new_map, to_set, to_remove = plan_map(current[column], wanted, purge)
        ops.extend(map_ops('Bridge', name, column, to_set, to_remove))
        after[column] = new_map
    return _plan(ops, before, bridge_view(after))


def _plan(ops, before, after):
    return Plan(ops, before, after, actions=[describe_op(op) for op in ops],
                result=dict(bridge=after))
