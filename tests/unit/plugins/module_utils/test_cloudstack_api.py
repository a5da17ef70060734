# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The parts of the CloudStack API connection (module_utils/cloudstack_api.py) that need no
server: options, lookups, error messages. tests/system/test_cs_ovs_provider.py runs it against
the fake management server."""

import socket
import ssl

import pytest
from ansible.module_utils.basic import env_fallback

from ansible_collections.cloudstack.ovs.plugins.module_utils import cloudstack_api as api


def test_find_by_name_or_id_exact():
    items = [dict(id='1', name='gre-guest'), dict(id='2', name='gre')]
    assert api.find_by_name_or_id(items, 'physical_network', 'gre', 'net')['id'] == '2'
    assert api.find_by_name_or_id(items, 'physical_network', '1', 'net')['name'] == 'gre-guest'
    with pytest.raises(api.CloudStackError) as err:
        api.find_by_name_or_id(items, 'physical_network', 'gr', 'net')
    assert str(err.value) == ('physical_network: no net of that name or id; there are: gre, '
                              'gre-guest (got gr)')
    assert (err.value.field, err.value.value, err.value.command) == ('physical_network', 'gr',
                                                                     None)
    with pytest.raises(api.CloudStackError, match=r'more than one net has that name \(ids 1, 3\)'):
        api.find_by_name_or_id(items + [dict(id='3', name='gre-guest')], 'physical_network',
                               'gre-guest', 'net')


def test_argument_spec_matches_ngine_io_names_and_environment():
    spec = api.cloudstack_argument_spec()
    assert sorted(spec) == ['api_http_method', 'api_key', 'api_secret', 'api_timeout', 'api_url',
                            'api_verify_ssl_cert', 'validate_certs']
    assert all(o['fallback'][0] is env_fallback for o in spec.values())
    env = dict((name, o['fallback'][1]) for name, o in spec.items())
    # CLOUDSTACK_DANGEROUS_NO_TLS_VERIFY's value is validate_certs, as in ngine_io.cloudstack.
    assert env == dict(api_url=['CLOUDSTACK_ENDPOINT'], api_key=['CLOUDSTACK_KEY'],
                       api_secret=['CLOUDSTACK_SECRET'], api_http_method=['CLOUDSTACK_METHOD'],
                       api_timeout=['CLOUDSTACK_TIMEOUT'], api_verify_ssl_cert=['CLOUDSTACK_VERIFY'],
                       validate_certs=['CLOUDSTACK_DANGEROUS_NO_TLS_VERIFY'])
    assert spec['api_key']['no_log'] and spec['api_secret']['no_log']
    assert spec['validate_certs']['default'] is True


class FakeCs(object):
    endpoint = 'https://cloud.example.com/client/api'
    timeout = 10
    job_timeout = 600


def test_errors_of_cs_name_the_command_and_cloudstack_text():
    cs = pytest.importorskip('cs')
    conn = api.CloudStackApi(FakeCs())
    refused = cs.CloudStackApiException(
        'HTTP 431 response from CloudStack', response=None,
        error=dict(uuidList=[], errorcode=431, cserrorcode=4350, errortext='bad id'))
    err = conn.error('configureOvsElement', refused)
    assert str(err) == 'configureOvsElement: CloudStack error 431: bad id'
    assert (err.command, err.errorcode, err.errortext) == ('configureOvsElement', 431, 'bad id')
    failed = cs.CloudStackApiException('Job failure', response=None,
                                       error=dict(errorcode=530, errortext='boom'))
    assert str(conn.error('x', failed)) == 'x: CloudStack error 530: asynchronous job failed: boom'
    late = cs.CloudStackException('Timeout waiting for async job result', 'job-1', response=None)
    assert str(conn.error('x', late)) == 'x: job job-1 still pending after 600 s'


def test_connection_errors_keep_the_cause_not_the_signed_url():
    requests = pytest.importorskip('requests')
    conn = api.CloudStackApi(FakeCs())
    cause = ssl.SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate '
                                            'verify failed: self-signed certificate')
    wrapper = RuntimeError('HTTPSConnectionPool: Max retries exceeded with url: '
                           '/client/api?apiKey=KEY&signature=SIG')
    wrapper.reason = cause
    err = conn.error('listZones', requests.exceptions.SSLError(wrapper))
    assert str(err).startswith('listZones: api_url https://cloud.example.com/client/api: TLS '
                               'certificate not accepted: [SSL: CERTIFICATE_VERIFY_FAILED] ')
    assert 'apiKey' not in str(err) and 'validate_certs' in str(err)
    err = conn.error('listZones', requests.exceptions.ReadTimeout(
        RuntimeError('url?apiKey=KEY'), socket.timeout('timed out')))
    assert str(err) == ('listZones: api_url https://cloud.example.com/client/api: no answer '
                        'within api_timeout (10 s): timed out')


def test_error_without_a_python_cause_loses_the_query_string():
    requests = pytest.importorskip('requests')
    err = api.CloudStackApi(FakeCs()).error('listZones', requests.exceptions.InvalidURL(
        "Invalid URL 'http://:80/client/api?apiKey=KEY&signature=SIG': No host supplied"))
    assert str(err) == ("listZones: api_url https://cloud.example.com/client/api: cannot reach "
                        "the management server: Invalid URL 'http://:80/client/api': No host "
                        "supplied")
