# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The one safe XML parser of the collection, and the XML text helpers around it.

Pure Python (standard library only). Used for CloudStack ``extraconfig`` sections, libvirt
domain XML and the ``interface_extra`` fragments of ``dpdk_port``. One set of safety rules:

* markup declarations (``<!DOCTYPE``, ``<!ENTITY``, ``<!ELEMENT`` ...) are refused before
  parsing, so there are no DTDs, entity expansion or external references; comments and
  CDATA are allowed (ElementTree drops comments);
* a fragment is parsed inside a wrapper element that declares libvirt's ``qemu`` prefix;
  text outside its elements is returned as ``stray`` for the caller to refuse;
* nesting depth is checked by the callers with ``validate.check_element_depth``.

Every function takes ``error``: the exception class to raise (the caller's own error type,
a ``ValueError``); by default ``ParamError``.
"""

import copy
import re
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape as xml_escape

from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import ParamError
from ansible_collections.cloudstack.ovs.plugins.module_utils.secrets import MASK, is_secret_name
from ansible_collections.cloudstack.ovs.plugins.module_utils.validate import describe

QEMU_NS = 'http://libvirt.org/schemas/domain/qemu/1.0'
# Prefixes a fragment may use without declaring them (libvirt's own namespaces).
KNOWN_NAMESPACES = {'qemu': QEMU_NS}

_WRAPPER = 'cloudstack-ovs-extraconfig'
# Anything that opens a markup declaration (<!DOCTYPE, <!ENTITY, <!ELEMENT, ...).
_MARKUP_DECL = re.compile(r'<!(?!--|\[CDATA\[)')


def refuse_declarations(text, where, error=ParamError):
    match = _MARKUP_DECL.search(text)
    if match:
        raise error('%s: markup declarations (<!DOCTYPE, <!ENTITY, ...) are refused: no DTDs, '
                    'entities or external references (got %s)'
                    % (where, describe(text[match.start():match.start() + 40])))


def parse_checked(document, where, error=ParamError, line_offset=0):
    """Parse a complete document already checked by refuse_declarations(); (root, {uri: prefix})."""
    parser = ET.XMLPullParser(events=('start-ns', 'start'))
    root = None
    prefixes = {}
    try:
        parser.feed(document)
        parser.close()
    except ET.ParseError as exc:
        line, column = getattr(exc, 'position', (0, 0))
        raise error('%s: not well-formed XML: %s (line %d, column %d)'
                    % (where, str(exc).split(':', maxsplit=1)[0], max(line - line_offset, 1), column))
    for event, payload in parser.read_events():
        if event == 'start-ns':
            prefix, uri = payload
            prefixes.setdefault(uri, prefix)
        elif event == 'start' and root is None:
            root = payload
    return root, prefixes


def parse_document(text, where='domain XML', error=ParamError):
    """Safely parse a whole XML document (e.g. a libvirt domain). Returns (root, {uri: prefix})."""
    if not isinstance(text, str):
        raise error('%s: must be a string (got %s)' % (where, describe(text)))
    refuse_declarations(text, where, error)
    return parse_checked(text, where, error)


def parse_fragment(text, where, error=ParamError):
    """Safely parse a fragment: returns (top-level elements, stray text, {uri: prefix}).

    The fragment is wrapped in an element that declares libvirt's ``qemu`` prefix, so
    ``<qemu:commandline>`` works without its own xmlns declaration.
    """
    if not isinstance(text, str):
        raise error('%s: must be a string of XML (got %s)' % (where, describe(text)))
    refuse_declarations(text, where, error)
    decls = ''.join(' xmlns:%s="%s"' % item for item in sorted(KNOWN_NAMESPACES.items()))
    wrapper, prefixes = parse_checked('<%s%s>%s</%s>' % (_WRAPPER, decls, text, _WRAPPER), where, error)
    for prefix, uri in KNOWN_NAMESPACES.items():
        prefixes.setdefault(uri, prefix)
    stray = (wrapper.text or '').strip()
    for child in wrapper:
        stray = stray or (child.tail or '').strip()
    return list(wrapper), stray, prefixes


def qualified_name(tag, prefixes):
    """``{uri}local`` -> ``prefix:local`` (the name CloudStack's non-namespace-aware parser sees)."""
    if tag.startswith('{'):
        uri, _sep, local = tag[1:].partition('}')
        prefix = prefixes.get(uri)
        return '%s:%s' % (prefix, local) if prefix else local
    return tag


def register_prefixes(prefixes):
    for uri, prefix in prefixes.items():
        if prefix:
            try:
                ET.register_namespace(prefix, uri)
            except ValueError:
                # ElementTree reserves ns<digits>; it picks such names itself anyway.
                pass


def indent(element, level=0):
    """Indent in place like ``virsh dumpxml`` (ElementTree.indent needs Python 3.9; targets
    may have 3.8). Whitespace-only text of a leaf is dropped."""
    pad = '\n' + '  ' * (level + 1)
    if len(element):
        element.text = pad
        for child in element:
            indent(child, level + 1)
            child.tail = pad
        element[-1].tail = '\n' + '  ' * level
    elif element.text is not None and not element.text.strip():
        element.text = None


def canonical_xml(xml, error=ParamError):
    """C14N 2.0 form with insignificant whitespace stripped: equal XML compares equal."""
    refuse_declarations(xml, 'domain XML', error)
    return ET.canonicalize(xml_data=xml, strip_text=True)


def _local_name(name):
    return name.rsplit('}', 1)[-1]


def secret_values(xml):
    """Values of every secret-named attribute (VNC/SPICE ``passwd`` ...) in ``xml`` (a
    fragment or a whole document), by parsing, so quoting does not matter. Unparseable
    text gives nothing."""
    try:
        roots = parse_fragment(xml, 'xml')[0]
    except (ET.ParseError, ValueError, TypeError):
        try:
            roots = [parse_document(xml)[0]]
        except (ET.ParseError, ValueError, TypeError):
            return set()
    found = set()
    for root in roots:
        for element in root.iter():
            for name, value in element.attrib.items():
                if value and is_secret_name(_local_name(name)):
                    # also as it reads inside XML text, in either quote style
                    found.update((value, xml_escape(value, {'"': '&quot;'}),
                                  xml_escape(value, {"'": '&apos;'})))
    return found


def pretty_xml(xml, mask_secrets=True, error=ParamError):
    """Indented XML for diffs. Secret-named attributes (VNC/SPICE ``passwd``, see
    module_utils/secrets.py) are masked on the parsed tree, whatever quotes the source
    used and whatever quote the value holds."""
    root, prefixes = parse_document(xml, error=error)
    register_prefixes(prefixes)
    tree = copy.deepcopy(root)
    for element in tree.iter():
        if element.text is not None and not element.text.strip():
            element.text = None
        if element.tail is not None and not element.tail.strip():
            element.tail = None
        if mask_secrets:
            for name in list(element.attrib):
                if is_secret_name(_local_name(name)):
                    element.set(name, MASK)
    indent(tree)
    return ET.tostring(tree, encoding='unicode') + '\n'
