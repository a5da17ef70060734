# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Pure planning for one OVS bridge: current state + wanted state -> ops and diff.

Shared by ``ovs_bridge`` and by modules that own bridges of their own (the GRE
mesh's ``OVSTunnel<key>`` bridges).
"""

from ansible_collections.cloudstack.ovs.plugins.module_utils.ovsdb_ops import (
    DATAPATH_TYPES,
    FAIL_MODES,
    map_ops,
    plan_map,
    validate_choice,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.validate import (
    ParamError,
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


def validate_bridge_params(name, datapath_type=None, fail_mode=None, other_config=None,
                           external_ids=None, field_prefix=''):
    """Check bridge parameters; return (other_config, external_ids) normalised."""
    validate_ifname(field_prefix + 'name', name)
    validate_choice(field_prefix + 'datapath_type', datapath_type, DATAPATH_TYPES)
    validate_choice(field_prefix + 'fail_mode', fail_mode, FAIL_MODES)
    return (normalize_map(field_prefix + 'other_config', other_config),
            normalize_map(field_prefix + 'external_ids', external_ids))


def plan_bridge(current, name, state='present', datapath_type=None, fail_mode=None,
                other_config=None, external_ids=None, purge_other_config=False,
                purge_external_ids=False):
    """Return ``(ops, before, after)`` for one bridge.

    ``current`` is the bridge as ``ovsdb.bridge_data`` returns it, or ``None``.
    Options left at ``None`` are not managed: an existing value stays as it is.
    """
    if state not in ('present', 'absent'):
        raise ParamError('state: %r is not one of present, absent' % (state,))
    other_config, external_ids = validate_bridge_params(
        name, datapath_type, fail_mode, other_config, external_ids)
    before = bridge_view(current)

    if state == 'absent':
        if current is None:
            return [], before, {}
        return [dict(op='del_bridge', bridge=name)], before, {}

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
    return ops, before, bridge_view(after)
