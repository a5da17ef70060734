# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""plan_ovs_provider and the pure parts of the CloudStack API client."""

import datetime

import pytest

from ansible_collections.cloudstack.ovs.plugins.module_utils import cloudstack_api as api
from ansible_collections.cloudstack.ovs.plugins.module_utils.ovs_provider import plan_ovs_provider

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


def test_bad_state_names_field():
    with pytest.raises(ValueError, match=r'^state: .*\(got on\)'):
        plan_ovs_provider(NSP, ELEMENT, 'on')


def test_signed_string_sorted_encoded_lowercased():
    text = api.signed_string({'command': 'listZones', 'apiKey': 'KEY', 'name': 'A b~*'})
    assert text == 'apikey=key&command=listzones&name=a%20b%7e*'


def test_signed_query_fixed_clock():
    now = datetime.datetime(2026, 11, 25, 1, 0, 0, tzinfo=datetime.timezone.utc)
    query = api.signed_query('listZones', {'available': True, 'skipped': None}, 'K', 'S',
                             now=now)
    assert 'expires=2026-11-25T01%3A10%3A00%2B0000' in query
    assert 'available=true' in query and 'skipped' not in query
    assert 'signatureVersion=3' in query and 'response=json' in query


def test_response_body_errors():
    assert api.response_body('listZones', {'listzonesresponse': {}}) == {}
    with pytest.raises(api.CloudStackApiError) as err:
        api.response_body('listZones', {'listzonesresponse': {
            'uuidList': [], 'errorcode': 401,
            'errortext': 'unable to verify user credentials and/or request signature'}})
    assert err.value.errorcode == 401
    with pytest.raises(api.CloudStackApiError, match='not a JSON object'):
        api.response_body('listZones', ['x'])


def test_find_by_name_or_id_exact():
    items = [dict(id='1', name='gre-guest'), dict(id='2', name='gre')]
    assert api.find_by_name_or_id(items, 'physical_network', 'gre', 'net')['id'] == '2'
    assert api.find_by_name_or_id(items, 'physical_network', '1', 'net')['name'] == 'gre-guest'
    with pytest.raises(LookupError, match=r'^physical_network: no net .*\(got gr;'):
        api.find_by_name_or_id(items, 'physical_network', 'gr', 'net')


def test_client_rejects_non_http_url():
    with pytest.raises(ValueError, match=r"^api_url: .*\(got cloud\)"):
        api.CloudStackClient('cloud', 'k', 's')
