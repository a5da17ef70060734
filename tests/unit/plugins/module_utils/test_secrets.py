# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The collection's one secret-word list and the no_log narrowing. Pure: no files."""

import pytest

from ansible_collections.cloudstack.ovs.plugins.module_utils.secrets import (
    is_secret_name,
    name_words,
    narrow_no_log,
    value_strings,
)


@pytest.mark.parametrize('name, words', [
    ('keystore.passphrase', ['keystore', 'passphrase']),
    ('dbPwd', ['db', 'pwd']),
    ('APIKey', ['api', 'key']),
    ('mgmt_API_SECRET', ['mgmt', 'api', 'secret']),
    ('vnc-passwd2', ['vnc', 'passwd2']),
])
def test_name_words(name, words):
    assert name_words(name) == words


@pytest.mark.parametrize('name', [
    'keystore.passphrase', 'db.password', 'DB_PASSWORD', 'keystorePassword', 'db.passwd', 'passwd',
    'db.pass', 'db.pass2', 'dbpass', 'db.pwd', 'dbPwd', 'ldap.pw', 'userPw', 'cluster.cred',
    'cluster.creds', 'cluster.credentials', 'a.credential', 'api_secret', 'secretkey', 'apikey',
    'apiKey', 'private.key', 'ssh.keys', 'auth-token', 'accessToken', 'door.passcode',
])
def test_secret_names(name):
    assert is_secret_name(name), name_words(name)


@pytest.mark.parametrize('name', [
    'keystore.file', 'network.bridge.type', 'private.network.device', 'host', 'guid',
    'passthrough.enabled', 'openvswitch.dpdk.enabled', 'keyboard.layout', 'keymap',
    'hypervisor.bypass', 'compass.heading', 'port', 'type', 'mode',
])
def test_not_secret_names(name):
    assert not is_secret_name(name), name_words(name)


def test_extra_names_and_odd_input():
    assert is_secret_name('my.thing', extra=('my.thing',))
    assert not is_secret_name('my.thing')
    assert not is_secret_name(None) and not is_secret_name('')


def test_value_strings_walks_every_shape():
    assert value_strings(['a', {'k': 'b', 'n': 3}, (1.5, None, True), b'c', '']) == {
        'a', 'b', '3', '1.5', 'c'}
    assert value_strings(None) == set() and value_strings(False) == set()


class FakeModule(object):
    """Only the two attributes narrow_no_log reads and writes."""

    def __init__(self, spec, params, no_log_values):
        self.argument_spec = spec
        self.params = params
        self.no_log_values = set(no_log_values)


def test_narrow_no_log_keeps_only_the_secrets_and_other_options():
    spec = dict(properties=dict(type='dict', no_log=True), token=dict(type='str', no_log=True),
                path=dict(type='path'))
    params = dict(properties={'host': '192.0.2.1', 'keystore.passphrase': 's3', 'same': 'tok'},
                  token='tok', path='/x')
    module = FakeModule(spec, params, {'192.0.2.1', 's3', 'tok'})
    narrow_no_log(module, 'properties', {'s3'})
    # host shows again; s3 is a secret; tok is another no_log option's value too
    assert module.no_log_values == {'s3', 'tok'}
