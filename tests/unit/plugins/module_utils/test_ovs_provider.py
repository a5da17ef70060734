# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""plan_ovs_provider: the steps that enable or disable the Ovs network service provider;
apply_provider: what a failure in the middle reports."""

import pytest

from ansible_collections.cloudstack.ovs.plugins.module_utils.cloudstack_api import CloudStackError
from ansible_collections.cloudstack.ovs.plugins.module_utils.cs_ovs_provider import (
    apply_provider,
    plan_ovs_provider,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.plan import Plan

NSP = dict(id='nsp-1', name='Ovs', state='Disabled', physicalnetworkid='pn-1',
           servicelist=['Connectivity', 'StaticNat', 'PortForwarding', 'Lb'])
ELEMENT = dict(id='el-1', nspid='nsp-1', enabled=False)


def test_enable_from_scratch_element_first():
    steps, before, after = plan_ovs_provider(NSP, ELEMENT, 'enabled')
    assert [(s[0], s[1]) for s in steps] == [
        ('configureOvsElement', dict(id='el-1', enabled=True)),
        ('updateNetworkServiceProvider', dict(id='nsp-1', state='Enabled'))]
    assert (before['state'], before['element_enabled']) == ('Disabled', False)
    assert (after['state'], after['element_enabled']) == ('Enabled', True)


def test_enabled_is_a_no_op_when_done():
    steps, before, after = plan_ovs_provider(dict(NSP, state='Enabled'),
                                             dict(ELEMENT, enabled=True), 'enabled')
    assert steps == [] and before == after


def test_shutdown_provider_is_enabled_again():
    steps = plan_ovs_provider(dict(NSP, state='Shutdown'), dict(ELEMENT, enabled=True),
                              'enabled')[0]
    assert [s[0] for s in steps] == ['updateNetworkServiceProvider']


def test_disable_touches_only_the_provider():
    steps, _before, after = plan_ovs_provider(dict(NSP, state='Enabled'),
                                              dict(ELEMENT, enabled=True),
                                              'disabled')
    assert [(s[0], s[1]) for s in steps] == [
        ('updateNetworkServiceProvider', dict(id='nsp-1', state='Disabled'))]
    assert after['element_enabled'] is True
    assert plan_ovs_provider(NSP, ELEMENT, 'disabled')[0] == []


class _Api(object):
    """Answers call_async like CloudStack: the listed commands fail, the others go through."""

    def __init__(self, failing):
        self.failing = failing
        self.calls = []

    def call_async(self, command, **params):
        if command in self.failing:
            raise CloudStackError.api(command, 530, 'asynchronous job failed: no')
        self.calls.append(command)


def test_apply_reports_changed_when_a_call_went_through_before_the_failure():
    planned = Plan(plan_ovs_provider(NSP, ELEMENT, 'enabled')[0])
    api = _Api(['updateNetworkServiceProvider'])
    with pytest.raises(CloudStackError) as info:
        apply_provider(api, planned)
    assert api.calls == ['configureOvsElement']
    assert info.value.changed is True and 'configure Ovs element el-1' in info.value.detail
    assert info.value.result == dict(actions=[planned.ops[0][2]])
    assert str(info.value).startswith('updateNetworkServiceProvider: CloudStack error 530')


def test_apply_first_call_failing_changed_nothing():
    planned = Plan(plan_ovs_provider(NSP, ELEMENT, 'enabled')[0])
    with pytest.raises(CloudStackError) as info:
        apply_provider(_Api(['configureOvsElement']), planned)
    assert info.value.changed is False and info.value.detail is None
    assert info.value.result == dict(actions=[])
