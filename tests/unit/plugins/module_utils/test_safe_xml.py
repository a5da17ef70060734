# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The one safe XML parser, shared by extraconfig sections and dpdk_port's interface_extra."""

import xml.etree.ElementTree as ET

import pytest

from ansible_collections.cloudstack.ovs.plugins.module_utils import dpdk
from ansible_collections.cloudstack.ovs.plugins.module_utils import extraconfig_codec as ec
from ansible_collections.cloudstack.ovs.plugins.module_utils import safe_xml as sx
from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import ParamError

HOSTILE = [
    '<!DOCTYPE x [<!ENTITY e "boom">]><driver name="&e;"/>',
    '<!ENTITY e SYSTEM "file:///etc/passwd"><driver/>',
    '<!ELEMENT driver ANY><driver/>',
]


@pytest.mark.parametrize('text', HOSTILE)
def test_declarations_refused_the_same_way_everywhere(text):
    with pytest.raises(ParamError, match=r'^f: markup declarations .* are refused'):
        sx.parse_fragment(text, 'f')
    with pytest.raises(ParamError, match=r'^interface_extra\[0\]: markup declarations'):
        dpdk.interface_element('/p/csdpdk-1', 'client', extra=[text])
    with pytest.raises(ec.ExtraConfigError, match=r'^s: markup declarations'):
        ec.validate_section_xml('s', text)


def test_error_type_is_the_callers():
    with pytest.raises(ec.ExtraConfigError, match=r'^d: not well-formed XML'):
        sx.parse_document('<a>', 'd', ec.ExtraConfigError)
    with pytest.raises(ParamError, match=r'^d: must be a string'):
        sx.parse_document(None, 'd')


def test_fragment_returns_stray_text_and_known_prefixes():
    elements, stray, prefixes = sx.parse_fragment('<qemu:commandline/> tail', 'f')
    assert [e.tag for e in elements] == ['{%s}commandline' % sx.QEMU_NS]
    assert stray == 'tail'
    assert sx.qualified_name(elements[0].tag, prefixes) == 'qemu:commandline'


def test_comments_are_allowed_and_dropped_in_interface_extra():
    # one rule set: comments and CDATA are not markup declarations (extraconfig allowed them)
    xml = dpdk.interface_xml('/p/csdpdk-1', 'client', extra=['<!-- queues --><driver queues="2"/>'])
    assert '<driver queues="2" />' in xml and 'queues --' not in xml


def test_indent_is_shared_and_drops_blank_leaf_text():
    root = sx.parse_document('<a><b> </b><c><d/></c></a>')[0]
    sx.indent(root)
    assert ET.tostring(root, encoding='unicode') == '<a>\n  <b />\n  <c>\n    <d />\n  </c>\n</a>'


def _old_url_encode(text):
    unreserved = frozenset('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~')
    return ''.join(c if c in unreserved else ''.join('%%%02X' % b for b in c.encode('utf-8'))
                   for c in text)


def test_url_encode_is_quote_with_nothing_safe():
    text = ''.join(chr(c) for c in range(0, 0x250)) + ' \u20ac\U0001F600 /+:?&=#%~'
    assert ec.url_encode(text) == _old_url_encode(text)
    assert ec.java_url_decode(ec.url_encode(text)) == text


@pytest.mark.parametrize('title,position,key', [
    ('dpdk-numa', 1, 'extraconfig-dpdk-numa'),
    (None, 3, 'extraconfig-3'),
])
def test_detail_key(title, position, key):
    assert ec.detail_key(title, position) == key
    text = '%s:\n<a/>' % title if title else '\n\n'.join(['<a/>'] * position)
    assert ec.split_sections(text)[-1].key == key
