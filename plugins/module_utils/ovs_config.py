# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Keys of the single ``Open_vSwitch`` row (``other_config``, ``external_ids``): the request
of the ``ovs_config`` module and its pure plan.

``config_request`` checks and normalises the two maps once; ``plan_config`` turns the row as
``OvsdbSession.open_vswitch()`` returns it and the request into a ``Plan``, and names the keys
that ovs-vswitchd reads only when it starts (``restart_keys``).
"""

from ansible_collections.cloudstack.ovs.plugins.module_utils.ovsdb_ops import (
    describe_op,
    map_ops,
    plan_map,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.plan import Plan
from ansible_collections.cloudstack.ovs.plugins.module_utils.validate import normalize_map

COLUMNS = ('other_config', 'external_ids')
# other_config keys ovs-vswitchd reads only at start (DPDK EAL parameters and memory).
RESTART_KEYS = frozenset((
    'dpdk-init', 'dpdk-socket-mem', 'dpdk-socket-limit', 'dpdk-lcore-mask', 'dpdk-extra',
    'dpdk-alloc-mem', 'dpdk-hugepage-dir', 'vhost-sock-dir', 'per-port-memory',
    'dpdk-max-memzones',
))


def config_request(params):
    """The ``ovs_config`` parameters with both maps checked and normalised (values as OVS
    strings, ``None`` kept: "remove this key"). ``state`` is limited by the spec's choices."""
    request = dict(params)
    for column in COLUMNS:
        request[column] = normalize_map(column, params[column]) or {}
    return request


def plan_config(current, other_config, external_ids, state):
    """The ``Plan`` that brings the named keys of ``current`` (the Open_vSwitch row) to the
    wanted values; with ``state='absent'`` the named keys are removed.

    The maps are as ``config_request`` returns them. The plan's result holds both columns
    after the change, the changed keys (``<column>:<key>``) and those among them that take
    effect only when ovs-vswitchd restarts.
    """
    ops = []
    after = {}
    changed = []
    for column, wanted in zip(COLUMNS, (other_config, external_ids)):
        if state == 'absent':
            wanted = dict((key, None) for key in wanted)
        new_map, to_set, to_remove = plan_map(current[column], wanted)
        ops.extend(map_ops('Open_vSwitch', '.', column, to_set, to_remove))
        after[column] = dict(sorted(new_map.items()))
        changed.extend('%s:%s' % (column, key) for key in sorted(set(to_set) | set(to_remove)))
    before = dict((column, dict(sorted(current[column].items()))) for column in COLUMNS)
    restart = [key for key in changed
               if key.startswith('other_config:') and key.split(':', 1)[1] in RESTART_KEYS]
    result = dict(after, changed_keys=changed, restart_keys=restart)
    return Plan(ops, before, after, actions=[describe_op(op) for op in ops], result=result)
