# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Contract tests of cs_ovs_provider and its API connection (module_utils/cloudstack_api.py,
through the ``cs`` library) against a local fake management server
(tests/system/fake_cloudstack.py) that checks every signature and answers in the shapes of
CloudStack's API reference, over HTTP and over HTTPS with a self-signed certificate made for
the test. There is no real management server here: these tests prove the requests and the
handling of answers, not CloudStack's behaviour."""

import json
import socket

import pytest

from conftest import COLLECTIONS, run_module
from fake_cloudstack import API_KEY, API_SECRET

from ansible_collections.cloudstack.ovs.plugins.module_utils import cloudstack_api

cs = pytest.importorskip('cs', reason='the cs library (requirements.txt) is not installed')


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
    assert configure['enabled'].lower() == 'true'  # cs sends True; Java's parseBoolean agrees
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
    assert result['msg'] == ('listZones: CloudStack error 401: unable to verify user '
                             'credentials and/or request signature'), result['msg']
    assert 'exception' not in result  # an API error, not a bug: no traceback
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
    assert result['msg'] == ('physical_network: no physical network in zone zone1 of that '
                             'name or id; there are: gre-guest (got gre)')
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
    assert result['msg'] == ('configureOvsElement: CloudStack error 530: asynchronous job '
                             'failed: Failed to configure the ovs provider'), result['msg']
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
    result = run_module('cs_ovs_provider', dict(zone='z', physical_network='p',
                                                api_key='some-key', api_secret='some-secret',
                                                api_url=url))
    assert result['failed'] is True
    assert result['msg'].startswith('listZones: api_url %s: cannot reach the management '
                                    'server: ' % url), result['msg']
    assert 'Connection refused' in result['msg']
    # requests names the whole request URL in its errors; the message keeps only the cause.
    assert 'apiKey' not in result['msg'] and 'signature' not in result['msg']


def test_silent_server_bounded_by_api_timeout():
    # A loopback socket that accepts connections (the kernel's backlog) and never answers.
    silent = socket.socket()
    silent.bind(('127.0.0.1', 0))
    silent.listen(5)
    try:
        url = 'http://127.0.0.1:%d/client/api' % silent.getsockname()[1]
        result = run_module('cs_ovs_provider', dict(zone='z', physical_network='p',
                                                    api_key='some-key', api_secret='some-secret',
                                                    api_url=url, api_timeout=1))
    finally:
        silent.close()
    assert result['msg'] == ('listZones: api_url %s: no answer within api_timeout (1 s): '
                             'the management server took the request and sent nothing' % url)


def test_slow_answer_bounded_by_api_timeout_as_a_whole(fake):
    """Issue 22 C: one byte every 0.5 s held a call with api_timeout 3 for 123 s (each read
    got its byte in time), which then said "cannot reach the management server". The bound
    here is run_module's subprocess timeout, not a timed assertion."""
    fake.trickle = 0.5
    result = run_module('cs_ovs_provider', provider_args(fake, api_timeout=3), timeout=60)
    assert result['failed'] is True
    assert result['msg'].startswith('listZones: api_url %s: slow answer: the management server '
                                    'sent ' % fake.url), result['msg']
    assert result['msg'].endswith(' bytes but not its whole answer within api_timeout (3 s)')
    assert 'cannot reach' not in result['msg']
    assert fake.writes() == []


NOT_CLOUDSTACK = [
    # issue 22 B: '{}' crashed in cs with "not enough values to unpack"
    ('{}', 'got {}'),
    ('[]', 'got []'),
    ('{"a": {}, "b": {}}', 'got {"a": {}, "b": {}}'),
    ('{"listzonesresponse": [1]}', 'got {"listzonesresponse": [1]}'),
    ('{"listzonesresponse": {"count": 1, "zone": "zone1"}}',
     "zone is 'zone1', not a list of objects"),
    ('{"listzonesresponse": {"count": 1, "zone": [1]}}', 'zone is [1], not a list of objects'),
    ('{"listzonesresponse": {"count": "1", "zone": [{}]}}', "count is '1', not a number"),
]


@pytest.mark.parametrize('answer, why', NOT_CLOUDSTACK, ids=[a for a, _w in NOT_CLOUDSTACK])
def test_an_answer_not_of_cloudstacks_shape_names_the_command(fake, answer, why):
    fake.answer_json = answer
    with pytest.raises(cloudstack_api.CloudStackError) as err:
        api_for(fake).list('listZones', 'zone')
    assert str(err.value) == (
        "listZones: api_url %s answered with something that is not CloudStack's answer to "
        'listZones (an object with one key, listzonesresponse, holding an object): %s'
        % (fake.url, why))


def test_the_module_fails_clearly_on_an_empty_object(fake):
    fake.answer_json = '{}'
    result = run_module('cs_ovs_provider', provider_args(fake))
    assert result['failed'] is True
    assert result['msg'].startswith("listZones: api_url %s answered with something that is not "
                                    "CloudStack's answer to listZones" % fake.url), result['msg']
    assert 'unpack' not in result['msg'] and 'Traceback' not in json.dumps(result)


def test_post_method(fake, monkeypatch):
    result = run_module('cs_ovs_provider', provider_args(fake, api_http_method='post'))
    assert result['changed'] is True, result
    assert set(fake.http_methods) == {'POST'}
    fake.http_methods[:] = []
    monkeypatch.setenv('CLOUDSTACK_METHOD', 'post')
    assert run_module('cs_ovs_provider', provider_args(fake))['changed'] is False
    assert set(fake.http_methods) == {'POST'}


def test_missing_cs_library(fake, tmp_path):
    # A `cs` package first on the path that fails to import, as on a host without cs.
    (tmp_path / 'cs').mkdir()
    (tmp_path / 'cs' / '__init__.py').write_text(
        "raise ImportError('No module named cs (hidden by the test)')\n")
    result = run_module('cs_ovs_provider', provider_args(fake),
                        env=dict(PYTHONPATH='%s:%s' % (tmp_path, COLLECTIONS)))
    assert result['failed'] is True
    assert result['msg'].startswith('Failed to import the required Python library (cs)'), result
    assert fake.calls == []


def test_a_bug_is_not_reported_as_bad_input(fake):
    # An answer without the field the module needs is a bug (or a server this module does not
    # know), not an operator's mistake: Python's traceback, not a friendly "zone: ..." message.
    del fake.state['zones'][0]['id']
    with pytest.raises(AssertionError, match="KeyError: 'id'"):
        run_module('cs_ovs_provider', provider_args(fake))


# ---------------------------------------------------------------- HTTPS, self-signed

def test_tls_self_signed_refused_by_default(fake_tls):
    result = run_module('cs_ovs_provider', provider_args(fake_tls))
    assert result['failed'] is True
    msg = result['msg']
    assert msg.startswith('listZones: api_url %s: TLS certificate not accepted: ' % fake_tls.url)
    assert 'certificate verify failed: self-signed certificate' in msg, msg
    assert 'api_verify_ssl_cert' in msg and 'validate_certs' in msg
    assert 'apiKey' not in msg and 'signature' not in msg
    assert 'exception' not in result
    # The client ended the handshake: no request reached the API.
    assert fake_tls.calls == [] and fake_tls.tls_refused >= 1


def test_tls_validate_certs_false(fake_tls):
    result = run_module('cs_ovs_provider', provider_args(fake_tls, validate_certs=False))
    assert result['changed'] is True, result
    assert ovs_state(fake_tls) == ('Enabled', True)
    # ansible-core 2.19 returns warnings as structured events; older ones as strings
    assert 'validate_certs is false' in json.dumps(result['warnings'])
    assert fake_tls.tls_refused == 0


def test_tls_certificate_as_ca_file(fake_tls):
    result = run_module('cs_ovs_provider', provider_args(fake_tls,
                                                         api_verify_ssl_cert=fake_tls.ca_file))
    assert result['changed'] is True, result
    assert not result.get('warnings')
    result = run_module('cs_ovs_provider', provider_args(fake_tls,
                                                         api_verify_ssl_cert='/nonexistent.pem'))
    assert result['msg'] == ('api_verify_ssl_cert: no such CA certificate file or directory '
                             '(got /nonexistent.pem)')


def test_tls_environment_variable_as_ngine_io_reads_it(fake_tls, monkeypatch):
    # ngine_io.cloudstack hands the variable's value to validate_certs: false turns it off.
    monkeypatch.setenv('CLOUDSTACK_DANGEROUS_NO_TLS_VERIFY', 'false')
    result = run_module('cs_ovs_provider', provider_args(fake_tls))
    assert result['changed'] is True, result
    assert 'validate_certs is false' in json.dumps(result.get('warnings')), result
    monkeypatch.setenv('CLOUDSTACK_DANGEROUS_NO_TLS_VERIFY', 'true')
    result = run_module('cs_ovs_provider', provider_args(fake_tls))
    assert result['failed'] is True and 'TLS certificate not accepted' in result['msg']
    # An explicit option wins over the variable.
    monkeypatch.setenv('CLOUDSTACK_DANGEROUS_NO_TLS_VERIFY', 'false')
    result = run_module('cs_ovs_provider', provider_args(fake_tls, validate_certs=True))
    assert result['failed'] is True and 'TLS certificate not accepted' in result['msg']


# ---------------------------------------------------------------- the connection on its own

def api_for(fake, **kw):
    return cloudstack_api.CloudStackApi(cs.CloudStack(
        endpoint=fake.url, key=API_KEY, secret=API_SECRET, timeout=5,
        session=cloudstack_api.DeadlineSession(5), **kw))


def test_list_pages_as_the_server_sizes_them(fake):
    api = api_for(fake)
    assert [z['name'] for z in api.list('listZones', 'zone')] == ['zone1']
    fake.state['zones'] += [dict(fake.state['zones'][0], id='z2', name='zone2'),
                            dict(fake.state['zones'][0], id='z3', name='zone3')]
    fake.default_page_size = 2
    fake.calls[:] = []
    assert [z['name'] for z in api.list('listZones', 'zone')] == ['zone1', 'zone2', 'zone3']
    # First page as the server sizes it, then page 2 with that size.
    assert [(c[1].get('page'), c[1].get('pagesize')) for c in fake.calls] == [
        (None, None), ('2', '2')]
    assert api.list('listZones', 'zone', name='nothing-like-this') == []


def test_api_errors_name_the_command(fake):
    api = api_for(fake)
    with pytest.raises(cloudstack_api.CloudStackError) as err:
        api.call('createZone')
    assert err.value.command == 'createZone' and err.value.errorcode == 432
    assert str(err.value).startswith('createZone: CloudStack error 432: The given command:'
                                     'createZone does not exist')
    with pytest.raises(cloudstack_api.CloudStackError) as err:
        api.call_async('configureOvsElement', id=fake.state['nsps'][0]['id'], enabled=True)
    assert err.value.errorcode == 431 and 'Invalid parameter id value' in str(err.value)


def test_job_wait_is_bounded(fake):
    fake.pending_polls = 10 ** 6
    api = api_for(fake, job_timeout=1, poll_interval=0.1)
    element = fake.state['ovs_elements'][0]['id']
    with pytest.raises(cloudstack_api.CloudStackError) as err:
        api.call_async('configureOvsElement', id=element, enabled=True)
    assert str(err.value).startswith('configureOvsElement: job ')
    assert str(err.value).endswith(' still pending after 1 s')


def test_not_the_api(fake):
    # api_url pointing at something that answers HTML (a web UI, a proxy's error page).
    fake.answer_html = True
    with pytest.raises(cloudstack_api.CloudStackError) as err:
        api_for(fake).list('listZones', 'zone')
    assert str(err.value) == ("listZones: api_url %s: JSON (application/json) was expected, "
                              "got 'text/html'" % fake.url)
