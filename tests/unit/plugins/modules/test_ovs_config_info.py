# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Pure parts of ovs_config (planning) and ovs_info (shaping facts)."""

import pytest

from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import ModuleError, ParamError
from ansible_collections.cloudstack.ovs.plugins.module_utils.ovs_config import (
    config_request,
    plan_config,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.ovs_info import (
    facts_from_snapshot,
    plan_facts,
    read_agent_properties,
)


def plan(current, other_config, external_ids, state):
    """plan_config on the parameters as config_request checks them; the old tuple."""
    request = config_request(dict(other_config=other_config, external_ids=external_ids,
                                  state=state))
    made = plan_config(current, request['other_config'], request['external_ids'], state)
    return (made.ops, made.before, made.after, made.result['changed_keys'],
            made.result['restart_keys'])


def test_plan_config_sets_and_flags_restart_keys():
    current = dict(other_config={'dpdk-init': 'false', 'keep': '1'}, external_ids={'system-id': 's'})
    ops, before, after, changed, restart = plan(
        current, {'dpdk-init': True, 'pmd-cpu-mask': '0xc'}, {}, 'present')
    assert ops == [dict(op='set', table='Open_vSwitch', record='.', column='other_config',
                        value={'dpdk-init': 'true', 'pmd-cpu-mask': '0xc'})]
    assert after['other_config'] == {'dpdk-init': 'true', 'keep': '1', 'pmd-cpu-mask': '0xc'}
    assert after['external_ids'] == {'system-id': 's'}
    assert before['other_config'] == {'dpdk-init': 'false', 'keep': '1'}
    assert changed == ['other_config:dpdk-init', 'other_config:pmd-cpu-mask']
    # pmd-cpu-mask is applied live by ovs-vswitchd; dpdk-init is not
    assert restart == ['other_config:dpdk-init']


def test_plan_config_absent_removes_named_keys_only():
    current = dict(other_config={'a': '1', 'b': '2'}, external_ids={'x': '1'})
    ops, _before, after, changed, restart = plan(
        current, {'a': 'ignored', 'zz': None}, {'x': None}, 'absent')
    assert after == {'other_config': {'b': '2'}, 'external_ids': {}}
    assert changed == ['other_config:a', 'external_ids:x']
    assert restart == []
    assert [o['op'] for o in ops] == ['remove_keys', 'remove_keys']


def test_plan_config_idempotent():
    current = dict(other_config={'a': '1'}, external_ids={})
    ops, before, after, changed, _restart = plan(current, {'a': 1}, {}, 'present')
    assert ops == [] and changed == [] and before == after


def test_facts_flatten_tunnels_and_filter_bridges():
    gre = dict(name='t1001-1-2', type='gre', options={'remote_ip': '192.0.2.12', 'key': '1001'},
               ofport=3, external_ids={}, other_config={}, link_state='up', admin_state='up',
               error=None, mac_in_use=None)
    internal = dict(gre, name='OVSTunnel1001', type='internal', options={}, ofport=65534)
    snapshot = dict(
        open_vswitch=dict(ovs_version='3.1.0', db_version='8.3.1', dpdk_initialized=False),
        bridges={
            'OVSTunnel1001': dict(name='OVSTunnel1001', datapath_type='netdev', ports={
                't1001-1-2': dict(name='t1001-1-2', tag=None, interfaces={'t1001-1-2': gre}),
                'OVSTunnel1001': dict(name='OVSTunnel1001', tag=None,
                                      interfaces={'OVSTunnel1001': internal}),
            }),
            'cloudbr0': dict(name='cloudbr0', datapath_type='netdev', ports={}),
        })
    facts = facts_from_snapshot(snapshot)
    assert facts['ovs_version'] == '3.1.0'
    assert [b['name'] for b in facts['bridges']] == ['OVSTunnel1001', 'cloudbr0']
    assert [p['name'] for p in facts['bridges'][0]['ports']] == ['OVSTunnel1001', 't1001-1-2']
    assert facts['tunnels'] == [dict(bridge='OVSTunnel1001', name='t1001-1-2', type='gre',
                                     remote_ip='192.0.2.12', local_ip=None, key='1001', ofport=3,
                                     link_state='up', external_ids={})]
    only = facts_from_snapshot(snapshot, ['cloudbr0'])
    assert [b['name'] for b in only['bridges']] == ['cloudbr0'] and only['tunnels'] == []


def test_plan_config_result_and_actions():
    current = dict(other_config={'a': '1'}, external_ids={})
    made = plan_config(current, {'a': None, 'b': '2'}, {}, 'present')
    assert made.changed and made.actions == [
        'set Open_vSwitch . other_config: b=2', 'remove Open_vSwitch . other_config keys: a']
    assert made.returns(with_diff=True) == dict(
        changed=True, other_config={'b': '2'}, external_ids={},
        changed_keys=['other_config:a', 'other_config:b'], restart_keys=[],
        actions=made.actions, diff=dict(before=dict(other_config={'a': '1'}, external_ids={}),
                                        after=dict(other_config={'b': '2'}, external_ids={})))


def test_config_request_names_the_field():
    with pytest.raises(ParamError, match='^external_ids: the value of key .x. must be') as err:
        config_request(dict(other_config={}, external_ids={'x': [1]}, state='present'))
    assert err.value.field == 'external_ids'


def snapshot_with(bridge_names):
    return dict(open_vswitch=dict(ovs_version='3.1.0', other_config={}),
                bridges=dict((n, dict(name=n, ports={})) for n in bridge_names))


def test_plan_facts_is_an_info_plan():
    made = plan_facts(snapshot_with(['cloudbr0']), [], {'network.bridge.type': 'openvswitch',
                                                        'openvswitch.dpdk.enabled': 'true'})
    values = made.returns(with_diff=False)
    assert made.ops == [] and 'actions' not in values and values['changed'] is False
    assert values['cloudstack_dpdk_capable'] is True and values['cloudstack_dpdk']['capable']
    assert [b['name'] for b in values['bridges']] == ['cloudbr0']


def test_plan_facts_refuses_a_missing_bridge():
    with pytest.raises(ParamError, match='^bridges: no such bridge: br9, br8$') as err:
        plan_facts(snapshot_with(['cloudbr0']), ['cloudbr0', 'br9', 'br8'], {})
    assert err.value.field == 'bridges'


def test_read_agent_properties(tmp_path):
    assert read_agent_properties(str(tmp_path / 'missing')) == {}
    path = tmp_path / 'agent.properties'
    path.write_text('a=1\na=2\n')
    assert read_agent_properties(str(path)) == {'a': '2'}
    with pytest.raises(ModuleError, match='^agent_properties: cannot read ') as err:
        read_agent_properties(str(tmp_path))
    assert err.value.field == 'agent_properties'
