# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Pure parts of ovs_config (planning) and ovs_info (shaping facts)."""

from ansible_collections.cloudstack.ovs.plugins.modules.ovs_config import plan_config
from ansible_collections.cloudstack.ovs.plugins.modules.ovs_info import facts_from_snapshot


def test_plan_config_sets_and_flags_restart_keys():
    current = dict(other_config={'dpdk-init': 'false', 'keep': '1'}, external_ids={'system-id': 's'})
    ops, before, after, changed, restart = plan_config(
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
    ops, _before, after, changed, restart = plan_config(
        current, {'a': 'ignored', 'zz': None}, {'x': None}, 'absent')
    assert after == {'other_config': {'b': '2'}, 'external_ids': {}}
    assert changed == ['other_config:a', 'external_ids:x']
    assert restart == []
    assert [o['op'] for o in ops] == ['remove_keys', 'remove_keys']


def test_plan_config_idempotent():
    current = dict(other_config={'a': '1'}, external_ids={})
    ops, before, after, changed, _restart = plan_config(current, {'a': 1}, {}, 'present')
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
