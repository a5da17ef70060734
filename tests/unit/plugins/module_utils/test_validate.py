# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""module_utils/validate: names as the kernel sees them, scalar maps, NUL bytes, paths, depth."""

import xml.etree.ElementTree as ET

import pytest

from ansible_collections.cloudstack.ovs.plugins.module_utils import ovsdb, ovsdb_options
from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import ParamError
from ansible_collections.cloudstack.ovs.plugins.module_utils.validate import (
    MAX_DEPTH,
    check_data_depth,
    check_element_depth,
    check_text,
    data_depth,
    describe,
    element_depth,
    normalize_map,
    validate_abs_path,
    validate_ifname,
)


def nested_dict(levels, leaf='x'):
    value = leaf
    for _level in range(levels):
        value = {'k': value}
    return value


def nested_xml(levels):
    return ET.fromstring('<a>' * levels + '</a>' * levels)


def test_one_param_error_class():
    # ovsdb.py and ovsdb_options.py raise validate's ParamError: one exception class.
    assert ovsdb.ParamError is ParamError
    assert ovsdb_options.ParamError is ParamError


# ---------------------------------------------------------------- interface names

@pytest.mark.parametrize('name', ['br0', 'x' * 15, 'brü', 'br' + 'ü' * 6 + 'x'])
def test_ifname_up_to_15_bytes(name):
    assert len(name.encode('utf-8')) <= 15
    assert validate_ifname('name', name) == name


def test_ifname_counts_bytes_not_characters():
    name = 'br' + 'ü' * 8          # 10 characters, 18 bytes
    with pytest.raises(ParamError) as err:
        validate_ifname('name', name)
    assert str(err.value) == ("name: 'brüüüüüüüü' is 18 bytes long in UTF-8 (10 characters); "
                              "interface names are at most 15 bytes")


@pytest.mark.parametrize('name, fragment', [
    ('br\x000', 'may not contain NUL bytes'),
    ('br/0', "may not contain '/'"),
    ('br 0', 'whitespace'),
    ('br\u00a00', 'whitespace'),        # no-break space is whitespace too
    ('.', "nor be '.' or '..'"),
    ('..', "nor be '.' or '..'"),
    ('br\udc80', 'not valid UTF-8'),     # a lone surrogate cannot be encoded
    (None, 'must be a non-empty name (got None)'),
])
def test_ifname_refused_naming_field_and_value(name, fragment):
    with pytest.raises(ParamError) as err:
        validate_ifname('bridge', name)
    assert str(err.value).startswith('bridge: ')
    assert fragment in str(err.value)


# ---------------------------------------------------------------- maps

def test_map_scalars_become_ovs_strings():
    assert normalize_map('other_config', {'a': True, 'b': 1, 'c': 1.5, 'd': 'x', 'e': None}) == {
        'a': 'true', 'b': '1', 'c': '1.5', 'd': 'x', 'e': None}


@pytest.mark.parametrize('value, kind', [({'a': 1}, 'dict'), ([1, 2], 'list')])
def test_map_nested_values_refused_naming_field_and_key(value, kind):
    with pytest.raises(ParamError) as err:
        normalize_map('external_ids', {'k': value})
    assert str(err.value) == ("external_ids: the value of key 'k' must be a string, number or "
                              "boolean, not a %s (got %r)" % (kind, value))


@pytest.mark.parametrize('value, message', [
    ({'a\x00b': 'x'}, r"^other_config: key 'a\\x00b' may not contain NUL bytes$"),
    ({'a': 'x\x00y'}, r"^other_config: the value of key 'a' may not contain NUL bytes "
                      r"\(got 'x\\x00y'\)$"),
])
def test_map_nul_refused(value, message):
    with pytest.raises(ParamError, match=message):
        normalize_map('other_config', value)


def test_map_deeply_nested_value_gets_a_short_message():
    with pytest.raises(ParamError) as err:
        normalize_map('other_config', {'k': nested_dict(900)})
    assert 'not a dict (got a dict nested more than 2 levels deep)' in str(err.value)
    assert len(str(err.value)) < 200


# ---------------------------------------------------------------- text, paths

def test_check_text():
    assert check_text('domain', 'vm-1') == 'vm-1'
    with pytest.raises(ParamError, match=r"^domain: may not contain NUL bytes \(got 'v\\x00m'\)"):
        check_text('domain', 'v\x00m')
    with pytest.raises(ParamError, match=r'^zone: must be a string \(got 5\)'):
        check_text('zone', 5)


@pytest.mark.parametrize('path', ['/var/run/../tmp', '/..', '/run/openvswitch/..', '/a/../../b'])
def test_abs_path_dotdot_refused_not_normalised(path):
    with pytest.raises(ParamError) as err:
        validate_abs_path('ovs_path', path)
    assert str(err.value) == ("ovs_path: may not contain '..' components; give the real "
                              "directory (got %r)" % path)


@pytest.mark.parametrize('path', ['relative/dir', '../run', '', None, '/run/\x00x'])
def test_abs_path_relative_or_nul_refused(path):
    with pytest.raises(ParamError, match='^ovs_path: '):
        validate_abs_path('ovs_path', path)


def test_abs_path_dots_inside_names_are_fine():
    assert validate_abs_path('ovs_path', '/run/..ovs/a..b/.x') == '/run/..ovs/a..b/.x'


# ---------------------------------------------------------------- depth

def test_depths_are_counted_without_recursion():
    assert data_depth('x') == 0
    assert data_depth({'a': [1, {'b': 2}]}) == 3
    assert data_depth(nested_dict(5000), MAX_DEPTH) == MAX_DEPTH + 1
    assert element_depth(ET.fromstring('<a/>')) == 1
    assert element_depth(nested_xml(3)) == 3
    assert element_depth(nested_xml(5000), MAX_DEPTH) == MAX_DEPTH + 1


def test_element_depth_limit():
    assert check_element_depth('x', [nested_xml(MAX_DEPTH)])
    with pytest.raises(ParamError, match=r'^interface_extra\[0\]: XML nested more than 32 '
                                         r'elements deep is refused \(<a> ...\)$'):
        check_element_depth('interface_extra[0]', [nested_xml(1000)])
    with pytest.raises(KeyError):
        check_element_depth('x', [nested_xml(MAX_DEPTH + 1)], error=KeyError)


def test_data_depth_limit():
    assert check_data_depth('x', nested_dict(MAX_DEPTH)) is not None
    with pytest.raises(ParamError, match=r'^extraconfig: nested more than 32 levels deep is '
                                         r'refused \(got a dict nested more than 2 levels deep\)$'):
        check_data_depth('extraconfig', nested_dict(1000))


def test_describe_is_short_and_bounded():
    assert describe('abc') == "'abc'"
    assert describe('x' * 100) == "'" + 'x' * 56 + '...'
    assert describe({'a': 1}) == "{'a': 1}"
    assert describe([[[1]]]) == 'a list nested 3 levels deep'
    assert describe(nested_dict(3000)) == 'a dict nested more than 2 levels deep'
