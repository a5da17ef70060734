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


@pytest.mark.parametrize('text, why', [
    ('{"listzonesresponse": {"count": 1, "zone": []}}', None),
    ('{"listzonesresponse": {}}', None),
    ('{"queryasyncjobresultresponse": {"jobstatus": 0}}', None),
    ('{"queryasyncjobresultresponse": {"errorcode": 431, "errortext": "x"}}', None),
    ('not json', None),                      # cs says "Malformed JSON document" itself
    ('{}', 'got {}'),
    ('[]', 'got []'),
    ('{"listzonesresponse": {}, "x": {}}', 'got {"listzonesresponse": {}, "x": {}}'),
    ('{"listzonesresponse": "text"}', 'got {"listzonesresponse": "text"}'),
    ('{"zone": {}}', 'got {"zone": {}}'),
    ('{"queryasyncjobresultresponse": {}}',
     'queryAsyncJobResult without a jobstatus: got {"queryasyncjobresultresponse": {}}'),
])
def test_check_answer_knows_cloudstacks_shape(text, why):
    """Issue 22 B: cs unpacks the one key of the answer; '{}' crashed it."""
    assert api.check_answer(text) == why


def test_a_timed_out_call_says_slow_answer_or_no_answer():
    """Issue 22 C: what came of the answer decides the message, not requests' error class."""
    requests = pytest.importorskip('requests')
    fake = FakeCs()
    fake.timeout = 3
    fake.session = api.DeadlineSession(3)
    conn = api.CloudStackApi(fake)
    progress = fake.session.progress
    progress.start()
    progress.expired, progress.received = True, 6
    exc = requests.exceptions.ConnectionError('Read timed out.')
    assert str(conn.error('listZones', exc)) == (
        'listZones: api_url %s: slow answer: the management server sent 6 bytes but not its '
        'whole answer within api_timeout (3 s)' % fake.endpoint)
    progress.received = 0
    assert str(conn.error('listZones', exc)) == (
        'listZones: api_url %s: no answer within api_timeout (3 s): the management server took '
        'the request and sent nothing' % fake.endpoint)
    progress.start()   # a refused connection is not a timeout
    assert 'cannot reach the management server' in str(conn.error('listZones', exc))


def test_list_refuses_items_that_are_not_objects():
    class Answers(object):
        endpoint = 'https://cloud.example.com/client/api'

        def listZones(self, **_params):
            return {'count': 1, 'zone': ['zone1']}

    with pytest.raises(api.CloudStackError) as err:
        api.CloudStackApi(Answers()).list('listZones', 'zone')
    assert str(err.value).endswith("zone is ['zone1'], not a list of objects")
    assert str(err.value).startswith('listZones: api_url https://cloud.example.com/client/api '
                                     "answered with something that is not CloudStack's answer")
