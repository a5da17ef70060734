# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""plan_bridge: current bridge + wanted settings -> a Plan (ops, before, after, actions)."""

import pytest

from ansible_collections.cloudstack.ovs.plugins.module_utils import bridge as bridge_utils
from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import ParamError


def plan_bridge(*args, **kwargs):
    plan = bridge_utils.plan_bridge(*args, **kwargs)
    assert plan.changed == bool(plan.ops)
    assert len(plan.actions) == len(plan.ops)
    assert plan.result == dict(bridge=plan.after)
    return plan.ops, plan.before, plan.after


def bridge(**kw):
    base = dict(name='br0', datapath_type='netdev', fail_mode=None, stp_enable=False,
                other_config={}, external_ids={}, ports={'br0': {}})
    base.update(kw)
    return base


def test_create_new_bridge():
    ops, before, after = plan_bridge(None, 'br0', datapath_type='netdev', fail_mode='secure',
                                     other_config={'hwaddr': '52:54:00:00:00:01'})
    assert ops == [
        dict(op='add_bridge', bridge='br0', datapath_type='netdev'),
        dict(op='set', table='Bridge', record='br0', column='fail_mode', value='secure'),
        dict(op='set', table='Bridge', record='br0', column='other_config',
             value={'hwaddr': '52:54:00:00:00:01'}),
    ]
    assert before == {}
    assert after['datapath_type'] == 'netdev' and after['fail_mode'] == 'secure'
    assert after['ports'] == ['br0']


def test_new_bridge_without_datapath_gets_system():
    ops, _before, after = plan_bridge(None, 'br0')
    assert ops == [dict(op='add_bridge', bridge='br0', datapath_type='')]
    assert after['datapath_type'] == 'system'


def test_same_settings_no_ops():
    current = bridge(fail_mode='standalone', other_config={'a': '1'}, external_ids={'x': 'y'})
    ops, before, after = plan_bridge(current, 'br0', datapath_type='netdev', fail_mode='standalone',
                                     other_config={'a': '1'}, external_ids={'x': 'y'})
    assert ops == []
    assert before == after


def test_drift_is_repaired_and_unnamed_keys_kept():
    current = bridge(other_config={'a': '2', 'other': 'o'}, datapath_type='system')
    ops, before, after = plan_bridge(current, 'br0', datapath_type='netdev', other_config={'a': '1'})
    assert dict(op='set', table='Bridge', record='br0', column='datapath_type', value='netdev') in ops
    assert dict(op='set', table='Bridge', record='br0', column='other_config', value={'a': '1'}) in ops
    assert after['other_config'] == {'a': '1', 'other': 'o'}
    assert before['other_config'] == {'a': '2', 'other': 'o'}


def test_purge_external_ids_even_without_named_keys():
    current = bridge(external_ids={'a': '1', 'b': '2'})
    ops, _before, after = plan_bridge(current, 'br0', purge_external_ids=True)
    assert ops == [dict(op='remove_keys', table='Bridge', record='br0', column='external_ids',
                        keys=['a', 'b'])]
    assert after['external_ids'] == {}


def test_unmanaged_options_left_alone():
    current = bridge(fail_mode='secure', other_config={'a': '1'})
    ops, _before, after = plan_bridge(current, 'br0')
    assert ops == [] and after['fail_mode'] == 'secure'


def test_absent():
    assert plan_bridge(None, 'br0', state='absent') == ([], {}, {})
    ops, before, after = plan_bridge(bridge(), 'br0', state='absent')
    assert ops == [dict(op='del_bridge', bridge='br0')]
    assert before['name'] == 'br0' and after == {}


def params(**kw):
    base = dict(name='br0', state='present', datapath_type=None, fail_mode=None,
                other_config=None, external_ids=None, purge_other_config=False,
                purge_external_ids=False)
    base.update(kw)
    return base


@pytest.mark.parametrize('kwargs, message', [
    (dict(name='x' * 20), r"^name: 'xxxxxxxxxxxxxxxxxxxx' is 20 bytes long"),
    (dict(other_config='a=b'), r"^other_config: must be a dictionary"),
    (dict(external_ids={'a': {'b': 1}}), r"^external_ids: the value of key 'a' must be"),
])
def test_bad_params_name_field_and_value(kwargs, message):
    with pytest.raises(ParamError, match=message) as caught:
        bridge_utils.bridge_request(params(**kwargs))
    assert caught.value.field == next(iter(kwargs))


def test_request_normalises_maps():
    request = bridge_utils.bridge_request(params(other_config={'n': 5, 'b': True}))
    assert request['other_config'] == {'n': '5', 'b': 'true'}
