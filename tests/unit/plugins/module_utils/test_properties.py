# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The properties editor: java.util.Properties.load semantics, byte-exact round trips,
minimal edits, escaping, masking. Pure: no files."""

import pytest

from ansible_collections.cloudstack.ovs.plugins.module_utils.properties import (
    MASK,
    PropertiesError,
    as_dict,
    escape_key,
    escape_value,
    is_secret_key,
    masked_text,
    parse,
    plan,
    render,
    to_property_string,
    unescape,
)

# A file in the style of CloudStack's shipped agent.properties plus every corner of the format.
SAMPLE = (
    '# Sample configuration file for CloudStack agent\n'
    '\n'
    '#resource=com.cloud.agent.resource.virtualnetwork.VirtualRoutingResource\n'
    '! bang comment \\\n'
    'workers=5\n'
    '   host : 192.0.2.10\n'
    'port\t8250\n'
    'zone   =   default\n'
    'guid\n'
    'keystore.passphrase=s3cr3t\n'
    'long.value = one, \\\n'
    '             two, \\\n'
    '\t\t\tthree\n'
    'path=C:\\\\agent\\\\dir\n'
    'esc\\ key\\=x\\:y = v\\tw\\nx\\u00e9\n'
    'crlf=yes\r\n'
    'cr=only\r'
    'last=1'
)


def values(text):
    return as_dict(parse(text))


def test_round_trip_is_byte_identical():
    assert render(parse(SAMPLE)) == SAMPLE
    # and a plan that sets values that are already there changes nothing at all
    new, changed = plan(parse(SAMPLE), {'workers': '5', 'host': '192.0.2.10', 'guid': ''})
    assert changed == []
    assert render(new) == SAMPLE


def test_parse_follows_properties_load():
    got = values(SAMPLE)
    assert got == {
        'workers': '5',
        'host': '192.0.2.10',
        'port': '8250',
        'zone': 'default',
        'guid': '',
        'keystore.passphrase': 's3cr3t',
        # continuation: the backslash and the next line's leading whitespace vanish
        'long.value': 'one, two, three',
        'path': 'C:\\agent\\dir',
        'esc key=x:y': 'v\tw\nx\u00e9',
        'crlf': 'yes',
        'cr': 'only',
        'last': '1',
    }


def test_comment_lines_never_continue():
    # "! bang comment \" ends in a backslash but is a comment: workers=5 is a key of its own
    assert values('# a \\\nk=v\n') == {'k': 'v'}


@pytest.mark.parametrize('text,expected', [
    ('k=v', {'k': 'v'}),
    ('k:v', {'k': 'v'}),
    ('k v', {'k': 'v'}),
    ('k \t = \t v', {'k': 'v'}),
    ('k = = v', {'k': '= v'}),           # only the first = is a separator
    ('k  :=v', {'k': '=v'}),
    ('k==v', {'k': '=v'}),
    ('k', {'k': ''}),
    ('k   ', {'k': ''}),
    ('=v', {'': 'v'}),
    ('k=v  ', {'k': 'v  '}),             # trailing whitespace belongs to the value
    ('\f k=v', {'k': 'v'}),              # form feed is whitespace
    ('k\\=1=v', {'k=1': 'v'}),
    ('k\\ 1 v', {'k 1': 'v'}),
    ('k=\\ v', {'k': ' v'}),
    ('k=a\\#b\\!c', {'k': 'a#b!c'}),
    ('k=#not a comment', {'k': '#not a comment'}),
    ('k=\\q', {'k': 'q'}),               # an unknown escape drops the backslash
])
def test_separators_and_escapes(text, expected):
    assert values(text) == expected
    assert render(parse(text)) == text


@pytest.mark.parametrize('text,expected', [
    ('k=a\\\\\n', 'a\\'),                # even number of backslashes: no continuation
    ('k=a\\\\\\\nb\n', 'a\\b'),          # odd: continuation
    ('k=a\\\n\nx=1\n', 'a'),             # an empty line ends a continuation
    ('k=a\\\n   # not a comment\n', 'a# not a comment'),
    ('k=a\\', 'a'),                      # backslash at end of file is dropped
    ('k=a\\\r\n  b\r\n', 'ab'),
])
def test_continuation_lines(text, expected):
    assert values(text)['k'] == expected
    assert render(parse(text)) == text


def test_unicode_escapes_and_surrogate_pairs():
    assert unescape('\\u00e9\\u20AC') == '\u00e9\u20ac'
    assert unescape('\\ud83d\\ude00') == '\U0001F600'
    with pytest.raises(PropertiesError, match='line 3: malformed'):
        parse('a=1\nb=2\nc=\\u12\n')
    with pytest.raises(PropertiesError, match='malformed'):
        parse('c=\\uzzzz\n')


def test_file_is_read_as_iso_8859_1_like_the_agent():
    # UTF-8 bytes of e-acute, decoded as ISO-8859-1 (what Properties.load(InputStream) does),
    # are two characters; a wanted 'é' therefore differs and is rewritten as an escape.
    text = 'name=\u00c3\u00a9\n'
    assert values(text) == {'name': '\u00c3\u00a9'}
    new, changed = plan(parse(text), {'name': '\u00e9'})
    assert changed == ['name']
    assert render(new) == 'name=\\u00E9\n'


def test_escape_value_minimal_and_ascii_only():
    assert escape_value('http://192.0.2.1:8080/a=b#c!') == 'http://192.0.2.1:8080/a=b#c!'
    assert escape_value(' lead') == '\\ lead'
    assert escape_value('=x') == '\\=x'
    assert escape_value(':x') == '\\:x'
    assert escape_value('a b') == 'a b'
    assert escape_value('C:\\dir') == 'C:\\\\dir'
    assert escape_value('t\tn\nr\rf\f') == 't\\tn\\nr\\rf\\f'
    assert escape_value('\u00e9\u20ac\U0001F600') == '\\u00E9\\u20AC\\uD83D\\uDE00'
    assert escape_value('\x01') == '\\u0001'
    assert escape_key('a b=c:d#e!f') == 'a\\ b\\=c\\:d\\#e\\!f'


@pytest.mark.parametrize('value', [
    'plain', ' lead', '=x', ':x', 'a=b:c', 'C:\\x\\', '\u00e9\u20ac\U0001F600', 'tab\there',
    'multi\nline', 'trail  ', '#hash', '!bang', '\\u0041 literal', '',
])
@pytest.mark.parametrize('line', ['k=old\n', 'k old\n', 'k : old\n', 'k\n', ''])
def test_written_values_read_back_exactly(value, line):
    new, changed = plan(parse(line), {'k': value})
    text = render(new)
    assert values(text)['k'] == value
    assert all(ord(c) < 128 for c in text)
    # and writing again changes nothing
    again, changed_again = plan(parse(text), {'k': value})
    assert changed_again == [] and render(again) == text


@pytest.mark.parametrize('key', ['a b', 'x=y', 'p:q', '#hash', '!bang', 'ü', 'back\\slash'])
def test_written_keys_read_back_exactly(key):
    text = render(plan(parse(''), {key: 'v'})[0])
    assert values(text) == {key: 'v'}


def test_change_keeps_separator_style_comments_and_order():
    text = '# head\nb : 1\n\n# about a\na   2\nc=3\n'
    new, changed = plan(parse(text), {'a': '20', 'c': '3', 'new.key': 'x'})
    assert changed == ['a', 'new.key']
    assert render(new) == '# head\nb : 1\n\n# about a\na   20\nc=3\nnew.key=x\n'


def test_key_without_separator_gets_one():
    new, unused = plan(parse('guid\nx=1\n'), {'guid': 'abc'})
    assert render(new) == 'guid=abc\nx=1\n'


def test_remove_keeps_comments_and_removes_continuations_entirely():
    text = '# the key below\nk = a, \\\n   b\nother=1\n'
    new, changed = plan(parse(text), {'k': None})
    assert changed == ['k']
    assert render(new) == '# the key below\nother=1\n'
    new, changed = plan(parse(text), {'missing': None})
    assert changed == [] and render(new) == text


def test_state_absent_removes_whatever_the_value():
    new, changed = plan(parse('a=1\nb=2\n'), {'a': 'ignored'}, state='absent')
    assert changed == ['a'] and render(new) == 'b=2\n'


def test_duplicates_last_wins_and_are_collapsed_on_change():
    text = 'k=1\nx=0\nk=2\n'
    assert values(text)['k'] == '2'
    new, changed = plan(parse(text), {'k': '2'})
    assert changed == [] and render(new) == text          # effective value is right: no edit
    new, changed = plan(parse(text), {'k': '3'})
    assert render(new) == 'x=0\nk=3\n'
    new, changed = plan(parse(text), {'k': None})
    assert render(new) == 'x=0\n'


def test_change_of_continued_value_rewrites_all_its_lines():
    text = 'k = one, \\\n    two\nz=1\n'
    new, unused = plan(parse(text), {'k': 'three'})
    assert render(new) == 'k = three\nz=1\n'


def test_append_keeps_newline_style_and_terminates_last_line():
    assert render(plan(parse('a=1\r\nb=2'), {'c': '3'})[0]) == 'a=1\r\nb=2\r\nc=3\r\n'
    assert render(plan(parse(''), {'c': '3'})[0]) == 'c=3\n'


def test_append_after_open_continuation_does_not_get_swallowed():
    for text in ('a=1\\', 'a=1\\\n'):
        new, unused = plan(parse(text), {'c': '3'})
        got = values(render(new))
        assert got == {'a': '1', 'c': '3'}, (text, render(new))


def test_to_property_string():
    assert to_property_string('f', True) == 'true'
    assert to_property_string('f', False) == 'false'
    assert to_property_string('f', 5) == '5'
    assert to_property_string('f', 'x') == 'x'
    with pytest.raises(ValueError, match=r"properties.k: must be a string.*\[1\]"):
        to_property_string('properties.k', [1])


@pytest.mark.parametrize('key', [
    'keystore.passphrase', 'db.password', 'mgmt.PASSWORD', 'api_secret', 'auth-token',
    'apikey', 'secretkey', 'private.key', 'ssh.key', 'db.pass', 'cluster.credentials',
    'libvirt.passwd', 'db.pwd', 'ldap.pw', 'cluster.cred', 'keystorePassword', 'dbPw',
])
def test_secret_keys(key):
    assert is_secret_key(key)


@pytest.mark.parametrize('key', [
    'keystore.file', 'network.bridge.type', 'private.network.device', 'host', 'guid',
    'passthrough.enabled', 'openvswitch.dpdk.enabled', 'keyboard.layout',
])
def test_not_secret_keys(key):
    # The rule errs on the side of hiding (a word ending in "key" such as "monkey" is hidden
    # too); these are the keys that must stay visible.
    assert not is_secret_key(key), key


def test_refused_secret_value_is_named_by_type_only():
    with pytest.raises(ValueError) as info:
        to_property_string('properties.keystore.passphrase', ['s3cr3t', 'x'], secret=True)
    assert 's3cr3t' not in str(info.value)
    assert str(info.value) == ('properties.keystore.passphrase: must be a string, number, boolean '
                               'or null (got a list; the value of a secret key is not shown)')


def test_refused_value_is_shortened():
    with pytest.raises(ValueError) as info:
        to_property_string('properties.k', ['x' * 500])
    assert len(str(info.value)) < 200 and str(info.value).endswith("...)")


def test_masked_text_hides_secret_values_only():
    text = 'keystore.passphrase = s3cr3t\nhost=192.0.2.1\nmy.thing=hidden\n'
    shown = masked_text(parse(text), extra=('my.thing',))
    assert shown == 'keystore.passphrase = %s\nhost=192.0.2.1\nmy.thing=%s\n' % (MASK, MASK)
    assert 's3cr3t' not in shown and 'hidden' not in shown


def test_wanted_properties_names_the_key_and_hides_a_secret_value():
    from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import ParamError
    from ansible_collections.cloudstack.ovs.plugins.module_utils.agent_properties import (
        wanted_properties,
    )
    assert wanted_properties({'a': 1, 'b': None, 'c': True}, ()) == dict(a='1', b=None, c='true')
    with pytest.raises(ParamError) as info:
        wanted_properties({'db.pwd': ['s3cr3t']}, ())
    assert info.value.field == 'properties.db.pwd'
    assert 's3cr3t' not in str(info.value) and 'not shown' in str(info.value)
    with pytest.raises(ParamError) as info:
        wanted_properties({'': 'x'}, ())
    assert info.value.field == 'properties'
