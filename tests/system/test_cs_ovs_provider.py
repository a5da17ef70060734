# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Contract tests of cs_ovs_provider and the CloudStack API client against a local fake
management server (tests/system/fake_cloudstack.py) that checks every signature and answers
in the shapes of CloudStack's API reference. There is no real management server here: these
tests prove the requests and the handling of answers, not CloudStack's behaviour."""

import os
import socket
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from conftest import COLLECTIONS, run_module  # noqa: E402
from fake_cloudstack import API_KEY, API_SECRET, expected_signature  # noqa: E402

sys.path.insert(0, COLLECTIONS)

from ansible_collections.cloudstack.ovs.plugins.module_utils import cloudstack_api  # noqa: E402


def provider_args(fake, **extra):
    args = dict(api_url=fake.url, api_key=API_KEY, api_secret=API_SECRET,
                zone='zone1', physical_network='gre-guest')
    args.update(extra)
    return args


def ovs_state(fake):
    nsp = [n for n in fake.state['nsps'] if n['name'] == 'Ovs'][0]
    return nsp['state'], fake.state['ovs_elements'][0]['enabled']


def test_enable_then_idempotent(fake):
    result = run_module('cs_ovs_provider', provider_args(fake), diff=True)
    assert result.get('failed') is None, result
    assert result['changed'] is True
    assert ovs_state(fake) == ('Enabled', True)
    # Element first, then the provider; each an async job followed to its end.
    writes = [c[0] for c in fake.writes()]
    assert writes == ['configureOvsElement', 'updateNetworkServiceProvider']
    assert fake.commands().count('queryAsyncJobResult') >= 4  # each job pending once
    configure = fake.writes()[0][1]
    assert configure['enabled'] == 'true'
    assert configure['id'] == fake.state['ovs_elements'][0]['id']
    assert result['provider']['state'] == 'Enabled'
    assert result['provider']['element_enabled'] is True
    assert result['diff']['before']['state'] == 'Disabled'
    assert result['diff']['after']['state'] == 'Enabled'
    assert result['physical_network']['isolation_methods'] == 'GRE'
    assert len(result['actions']) == 2

    fake.calls[:] = []
    again = run_module('cs_ovs_provider', provider_args(fake))
    assert again['changed'] is False, again
    assert again['actions'] == []
    assert fake.writes() == []


def test_check_mode_writes_nothing(fake):
    result = run_module('cs_ovs_provider', provider_args(fake), check_mode=True, diff=True)
    assert result['changed'] is True, result
    assert len(result['actions']) == 2
    assert result['provider']['state'] == 'Enabled'
    assert fake.writes() == []
    assert ovs_state(fake) == ('Disabled', False)


def test_element_already_enabled_only_provider_updated(fake):
    fake.state['ovs_elements'][0]['enabled'] = True
    result = run_module('cs_ovs_provider', provider_args(fake))
    assert result['changed'] is True, result
    assert [c[0] for c in fake.writes()] == ['updateNetworkServiceProvider']


def test_disable(fake):
    assert run_module('cs_ovs_provider', provider_args(fake))['changed'] is True
    fake.calls[:] = []
    result = run_module('cs_ovs_provider', provider_args(fake, state='disabled'))
    assert result['changed'] is True, result
    assert [(c[0], c[1].get('state')) for c in fake.writes()] == [
        ('updateNetworkServiceProvider', 'Disabled')]
    # The element stays configured, so enabling again is one call.
    assert ovs_state(fake) == ('Disabled', True)
    assert run_module('cs_ovs_provider', provider_args(fake, state='disabled'))['changed'] is False


def test_bad_credentials_401(fake):
    result = run_module('cs_ovs_provider', provider_args(fake, api_secret='wrong-secret'))
    assert result['failed'] is True
    assert '401' in result['msg'] and 'unable to verify user credentials' in result['msg']
    assert 'wrong-secret' not in str(result)
    assert fake.calls == []  # refused before any command ran
    result = run_module('cs_ovs_provider', provider_args(fake, api_key='someone-else'))
    assert result['failed'] is True and '401' in result['msg']


def test_unknown_zone_and_network_named(fake):
    result = run_module('cs_ovs_provider', provider_args(fake, zone='zone9'))
    assert result['failed'] is True
    assert result['msg'].startswith('zone: ') and 'zone9' in result['msg'], result['msg']
    # 'gre' is a substring of 'gre-guest': the server's filter would match, the module must not.
    result = run_module('cs_ovs_provider', provider_args(fake, physical_network='gre'))
    assert result['failed'] is True
    assert result['msg'].startswith('physical_network: ') and '(got gre;' in result['msg']
    assert fake.writes() == []


def test_network_by_id(fake):
    pn_id = fake.state['physical_networks'][0]['id']
    result = run_module('cs_ovs_provider', provider_args(fake, physical_network=pn_id))
    assert result['changed'] is True, result
    assert result['physical_network']['name'] == 'gre-guest'


def test_no_ovs_provider(fake):
    fake.state['nsps'] = [n for n in fake.state['nsps'] if n['name'] != 'Ovs']
    result = run_module('cs_ovs_provider', provider_args(fake))
    assert result['failed'] is True
    assert 'has no Ovs network service provider' in result['msg']


def test_failed_job_530(fake):
    fake.fail_next_job = 'Failed to configure the ovs provider'
    result = run_module('cs_ovs_provider', provider_args(fake))
    assert result['failed'] is True
    assert 'configureOvsElement' in result['msg'] and '530' in result['msg']
    assert 'Failed to configure the ovs provider' in result['msg']
    assert ovs_state(fake) == ('Disabled', False)


def test_environment_fallback(fake, monkeypatch):
    monkeypatch.setenv('CLOUDSTACK_ENDPOINT', fake.url)
    monkeypatch.setenv('CLOUDSTACK_KEY', API_KEY)
    monkeypatch.setenv('CLOUDSTACK_SECRET', API_SECRET)
    result = run_module('cs_ovs_provider', dict(zone='zone1', physical_network='gre-guest'))
    assert result['changed'] is True, result


def test_missing_credentials_and_bad_url():
    result = run_module('cs_ovs_provider', dict(zone='zone1', physical_network='gre-guest',
                                                api_url='http://127.0.0.1:9/client/api'))
    assert result['failed'] is True and 'api_key' in result['msg']
    result = run_module('cs_ovs_provider', dict(zone='z', physical_network='p', api_key='k',
                                                api_secret='s', api_url='cloud.example.com'))
    assert result['failed'] is True
    assert result['msg'].startswith('api_url: ') and 'cloud.example.com' in result['msg']


def test_unreachable_server():
    # A loopback port that was free a moment ago: nothing answers there.
    probe = socket.socket()
    probe.bind(('127.0.0.1', 0))
    url = 'http://127.0.0.1:%d/client/api' % probe.getsockname()[1]
    probe.close()
    result = run_module('cs_ovs_provider', dict(zone='z', physical_network='p', api_key='k',
                                                api_secret='s', api_url=url))
    assert result['failed'] is True
    assert 'api_url %s' % url in result['msg']


# ---------------------------------------------------------------- the client on its own

TRICKY = {'name': 'a b+c/d~e*f_g.h-i', 'displaytext': 'Gr\u00fc\u00dfe & "quotes" = 100%',
          'empty': '', 'flag': True, 'list': ['Dhcp', 'Dns']}


def test_signature_matches_server_rebuild():
    """The client's signed query, decoded as a server decodes it, verifies."""
    from urllib.parse import parse_qsl
    query = cloudstack_api.signed_query('listZones', TRICKY, API_KEY, API_SECRET)
    pairs = parse_qsl(query, keep_blank_values=True)
    params = dict(pairs)
    assert params['flag'] == 'true' and params['list'] == 'Dhcp,Dns'
    assert params['displaytext'] == TRICKY['displaytext']
    signed = [(k, v) for k, v in pairs if k != 'signature']
    assert expected_signature(signed, API_SECRET) == params['signature']
    assert expected_signature(signed, 'other-secret') != params['signature']


def test_signature_matches_cs_library():
    """Cross-check with the independent ``cs`` library (used by ngine_io.cloudstack)."""
    cs_client = pytest.importorskip('cs.client')
    # cs leaves '~' unencoded where Java's URLEncoder (and this client) writes %7E;
    # everything else must agree.
    tricky = dict((k, v.replace('~', '') if isinstance(v, str) else v) for k, v in TRICKY.items())
    params = dict((k, cloudstack_api.api_value(v)) for k, v in tricky.items())
    params.update(command='listZones', response='json', apiKey=API_KEY)
    theirs = dict(params)
    cs = cs_client.CloudStack(endpoint='http://127.0.0.1/client/api', key=API_KEY,
                              secret=API_SECRET)
    cs._sign(theirs)
    assert cloudstack_api.signature(params, API_SECRET) == theirs['signature']


def test_tilde_encoded_like_java():
    assert cloudstack_api.java_url_encode('a~b c*d') == 'a%7Eb%20c*d'
    assert cloudstack_api.java_url_encode('\u00e9/') == '%C3%A9%2F'


def test_client_lists_pages_and_errors(fake):
    client = cloudstack_api.CloudStackClient(fake.url, API_KEY, API_SECRET, timeout=5,
                                             sleep=lambda s: None)
    assert [z['name'] for z in client.list('listZones', 'zone')] == ['zone1']
    fake.state['zones'] += [dict(fake.state['zones'][0], id='z2', name='zone2'),
                            dict(fake.state['zones'][0], id='z3', name='zone3')]
    fake.default_page_size = 2
    fake.calls[:] = []
    assert [z['name'] for z in client.list('listZones', 'zone')] == ['zone1', 'zone2', 'zone3']
    # First page as the server sizes it, then page 2 with that size.
    assert [(c[1].get('page'), c[1].get('pagesize')) for c in fake.calls] == [
        (None, None), ('2', '2')]
    assert client.list('listZones', 'zone', name='nothing-like-this') == []
    with pytest.raises(cloudstack_api.CloudStackApiError) as err:
        client.call('createZone')
    assert err.value.errorcode == 432 and err.value.http_status == 432
    with pytest.raises(cloudstack_api.CloudStackApiError) as err:
        client.call_async('configureOvsElement', 'ovselement', id=fake.state['nsps'][0]['id'],
                          enabled=True)
    assert err.value.errorcode == 431


def test_job_outcome_shapes():
    assert cloudstack_api.job_outcome('x', dict(jobstatus=0, jobid='j')) is None
    assert cloudstack_api.job_outcome('x', dict(jobstatus=1, jobresult={'a': 1})) == {'a': 1}
    with pytest.raises(cloudstack_api.CloudStackApiError) as err:
        cloudstack_api.job_outcome('x', dict(jobstatus=2, jobresult=dict(errorcode=530,
                                                                         errortext='boom')))
    assert err.value.errorcode == 530 and 'boom' in str(err.value)
