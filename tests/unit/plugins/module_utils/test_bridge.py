# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""plan_bridge: current bridge + wanted settings -> ops, before, after."""

import pytest

from ansible_collections.cloudstack.ovs.plugins.module_utils.bridge import plan_bridge
from ansible_collections.cloudstack.ovs.plugins.module_utils.validate import ParamError


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


@pytest.mark.parametrize('kwargs, message', [
    (dict(name='x' * 20), r"^name: 'xxxxxxxxxxxxxxxxxxxx' is 20 bytes long"),
    (dict(name='br0', datapath_type='dpdk'), r"^datapath_type: 'dpdk' is not one of system, netdev"),
    (dict(name='br0', fail_mode='open'), r"^fail_mode: 'open' is not one of standalone, secure"),
    (dict(name='br0', other_config='a=b'), r"^other_config: must be a dictionary"),
    (dict(name='br0', state='gone'), r"^state: 'gone' is not one of present, absent"),
])
def test_bad_params_name_field_and_value(kwargs, message):
    name = kwargs.pop('name')
    with pytest.raises(ParamError, match=message):
        plan_bridge(None, name, **kwargs)
