# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""CloudStack's VM ``extraconfig`` API string: URL codec, sections, encode and decode.

Pure Python (standard library only), shared by the ``cloudstack.ovs`` filters and the
``vm_extraconfig`` module. Facts mirrored from Apache CloudStack (read, not copied):

* The API parameter ``extraconfig`` (deployVirtualMachine, updateVirtualMachine) is
  URL-decoded the way Java's ``URLDecoder.decode(s, "UTF-8")`` does it: ``+`` becomes a
  space, ``%XX`` runs are UTF-8 bytes.
* The decoded text is split on every ``"\\n\\n"`` (Java ``String.split``: trailing empty
  pieces dropped, inner empty pieces kept). A section whose first line is
  ``<non-whitespace>:`` is stored as detail ``extraconfig-<title>`` without that line; any
  other section as ``extraconfig-<position>`` (its 1-based position among *all* sections).
* A later section with the same key silently replaces an earlier one.
* The KVM allow-list (``allow.additional.vm.configuration.list.kvm``) is checked on *every*
  element at every depth, and not at all when the decoded text contains a ``:``.

The DPDK sections and rules are in dpdk_vm.py, the merge into a libvirt domain in
domain_merge.py, the XML parsing in safe_xml.py. docs/extraconfig.md lists every behaviour
and which ones this collection refuses.
"""

import re
from urllib.parse import quote

from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import ParamError
from ansible_collections.cloudstack.ovs.plugins.module_utils.safe_xml import (
    parse_checked,
    parse_fragment,
    qualified_name,
    refuse_declarations,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.validate import (
    MAX_DEPTH,
    check_element_depth,
    describe,
)

EXTRA_CONFIG = 'extraconfig'
KEY_PREFIX = EXTRA_CONFIG + '-'
# deployVirtualMachine/updateVirtualMachine declare the parameter with length = 5120.
API_MAX_LENGTH = 5120

# Java's \S without UNICODE_CHARACTER_CLASS: anything but these six ASCII characters.
_TITLE_LINE = re.compile(r'[^ \t\n\x0b\f\r]+:\Z')
_TITLE = re.compile(r'[^ \t\n\x0b\f\r]+\Z')
_COMMENT_OR_CDATA = re.compile(r'<!--.*?-->|<!\[CDATA\[.*?\]\]>', re.S)
_SINGLE_QUOTED_ATTR = re.compile(r"<[^<>!?/][^<>]*?=\s*'")
_HEX = '0123456789abcdefABCDEF'


class ExtraConfigError(ParamError):
    """Bad input; the message names the field or section and the value."""


def detail_key(title, position):
    """The detail key CloudStack stores a section under: ``extraconfig-<title>``, or
    ``extraconfig-<position>`` (1-based, among all sections) for an untitled one."""
    return KEY_PREFIX + (title if title is not None else str(position))


# ---------------------------------------------------------------- URL encoding

def java_url_decode(text, field='extraconfig'):
    """Decode like Java's ``URLDecoder.decode(text, "UTF-8")``.

    ``+`` is a space; each run of ``%XX`` escapes is one UTF-8 byte sequence. As in Java,
    the two characters after ``%`` go through ``Integer.parseInt(.., 16)``, so a sign is
    accepted (``%+A`` is 0x0A, ``%-0`` is 0x00) and ``%-1`` is refused.
    Unlike Java, bytes that are not UTF-8 are refused instead of becoming U+FFFD.
    """
    if not isinstance(text, str):
        raise ExtraConfigError('%s: must be a string (got %s)' % (field, describe(text)))
    out = []
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        if char == '+':
            out.append(' ')
            i += 1
        elif char == '%':
            raw = bytearray()
            start = i
            while i < n and text[i] == '%':
                pair = text[i + 1:i + 3]
                if len(pair) < 2:
                    raise ExtraConfigError('%s: incomplete trailing escape (%%) pattern at position %d (got %s)'
                                           % (field, i, describe(text[i:])))
                raw.append(_java_hex_pair(pair, field, i))
                i += 3
            try:
                out.append(raw.decode('utf-8'))
            except UnicodeDecodeError:
                raise ExtraConfigError('%s: escapes at position %d are not UTF-8 (got %s)'
                                       % (field, start, describe(text[start:i])))
        else:
            out.append(char)
            i += 1
    return ''.join(out)


def _java_hex_pair(pair, field, pos):
    if pair[0] in '+-' and pair[1] in _HEX:
        value = int(pair[1], 16)
        if pair[0] == '-' and value != 0:
            raise ExtraConfigError('%s: illegal hex characters in escape (%%) pattern - negative value at '
                                   'position %d (got %r)' % (field, pos, '%' + pair))
        return value
    if pair[0] in _HEX and pair[1] in _HEX:
        return int(pair, 16)
    raise ExtraConfigError('%s: illegal hex characters in escape (%%) pattern at position %d (got %r)'
                           % (field, pos, '%' + pair))


def url_encode(text):
    """Percent-encode every byte but RFC 3986 unreserved characters (space is ``%20``).

    The result decodes the same through Java's URLDecoder (which has no ``+`` in it to
    misread) and is the form of CloudStack's documented examples.
    """
    return quote(text, safe='')


# ---------------------------------------------------------------- sections

def java_split(text, sep):
    """Java ``String.split`` with a literal separator and limit 0."""
    pieces = text.split(sep)
    while pieces and pieces[-1] == '':
        pieces.pop()
    if not pieces and text == '':
        return ['']
    return pieces


class Section(object):
    """One section as CloudStack stores it."""

    __slots__ = ('position', 'title', 'key', 'value', 'raw')

    def __init__(self, position, title, value, raw):
        self.position = position
        self.title = title
        self.key = detail_key(title, position)
        self.value = value
        self.raw = raw

    def label(self):
        return 'section %d (%s)' % (self.position, self.key)

    def __repr__(self):
        return 'Section(%d, %r, %r)' % (self.position, self.key, self.value)


def split_sections(decoded):
    """Cut decoded text into sections exactly as CloudStack's KVM path does.

    Raises ExtraConfigError for a section made only of line breaks: CloudStack fails on it
    with an internal error (its first-line lookup indexes an empty array).
    """
    sections = []
    for position, raw in enumerate(java_split(decoded, '\n\n'), start=1):
        lines = java_split(raw, '\n')
        if not lines:
            raise ExtraConfigError('extraconfig: section %d is only line breaks (got %r); CloudStack fails '
                                   'on it with an internal error' % (position, raw))
        first = lines[0]
        if _TITLE_LINE.match(first):
            # CloudStack removes every occurrence of "<title>:\n", not only the first line.
            sections.append(Section(position, first[:-1], raw.replace(first + '\n', ''), raw))
        else:
            sections.append(Section(position, None, raw, raw))
    return sections


def sections_to_details(sections):
    """key -> value as CloudStack's details table ends up: a later duplicate key wins."""
    details = {}
    for section in sections:
        details.pop(section.key, None)
        details[section.key] = section.value
    return details


def normalize_allow_list(field, allowed):
    """A list of element names, or a CloudStack-style comma-separated string; None = no list."""
    if allowed is None:
        return None
    if isinstance(allowed, str):
        allowed = allowed.split(',')
    if not isinstance(allowed, (list, tuple)):
        raise ExtraConfigError('%s: must be a list of element names (got %s)' % (field, describe(allowed)))
    names = []
    for name in allowed:
        if not isinstance(name, str):
            raise ExtraConfigError('%s: element names must be strings (got %s)' % (field, describe(name)))
        if name.strip():
            names.append(name.strip())
    return names


def validate_section_xml(label, value, allowed_elements=None):
    """Check one section's XML; return its top-level elements. Errors name ``label``."""
    if '\r' in value:
        raise ExtraConfigError('%s: contains carriage returns (CRLF line breaks); CloudStack splits sections '
                               'and titles only on \\n (got %s)' % (label, describe(value)))
    if not value.strip():
        raise ExtraConfigError('%s: is empty (got %r)' % (label, value))
    bare = _COMMENT_OR_CDATA.sub('', value)
    match = _SINGLE_QUOTED_ATTR.search(bare)
    if match:
        raise ExtraConfigError('%s: attribute values must be in double quotes, not single quotes (got %s)'
                               % (label, describe(bare[match.start():match.end() + 20])))
    elements, stray, prefixes = parse_fragment(value, label, ExtraConfigError)
    if stray:
        raise ExtraConfigError('%s: text outside the XML elements (a title needs its own first line '
                               'without spaces, ending in ":") (got %s)' % (label, describe(stray)))
    if not elements:
        raise ExtraConfigError('%s: holds no XML element (got %s)' % (label, describe(value)))
    check_element_depth(label, elements, MAX_DEPTH, ExtraConfigError)
    if allowed_elements is not None:
        for element in elements:
            name = qualified_name(element.tag, prefixes)
            if name not in allowed_elements:
                raise ExtraConfigError('%s: top-level element <%s> is not in the allowed elements (%s)'
                                       % (label, name, ', '.join(allowed_elements) or 'none'))
    return elements


def validate_sections(sections, allowed_elements=None):
    """Validate sections from split_sections(): duplicates, empty, quotes, XML, allow-list."""
    seen = {}
    for section in sections:
        if section.key in seen:
            raise ExtraConfigError('%s: duplicate key %s, also used by section %d; CloudStack would keep '
                                   'only the last one' % (section.label(), section.key, seen[section.key]))
        seen[section.key] = section.position
        validate_section_xml(section.label(), section.value, allowed_elements)


def cloudstack_allow_list_violations(decoded, allow_list):
    """What CloudStack's own KVM allow-list check refuses in ``decoded`` (a list of names).

    Mirrors validateKvmExtraConfig: no check at all when the text contains ``:``; otherwise
    every element at every depth must be on the list. CloudStack runs it on the whole
    decoded string at deploy/update time and again on every stored value at each VM start.
    """
    allow = normalize_allow_list('cloudstack_allow_list', allow_list) or []
    if ':' in decoded:
        return []
    where = 'CloudStack allow-list check'
    refuse_declarations(decoded, where, ExtraConfigError)
    root, _prefixes = parse_checked('<config>\n%s\n</config>' % decoded, where, ExtraConfigError,
                                    line_offset=1)
    refused = []
    for element in root.iter():
        if element is root:
            continue
        if element.tag not in allow and element.tag not in refused:
            refused.append(element.tag)
    return refused


# ---------------------------------------------------------------- decode / encode

def decode(encoded, validate=True, allowed_elements=None):
    """API string -> {detail key: XML} in section order (CloudStack's keys and values)."""
    allowed = normalize_allow_list('allowed_elements', allowed_elements)
    decoded = java_url_decode(encoded)
    sections = split_sections(decoded)
    if validate:
        validate_sections(sections, allowed)
    return sections_to_details(sections)


def _title_from_key(key, field):
    if not isinstance(key, str) or not key:
        raise ExtraConfigError('%s: keys must be non-empty strings (got %s)' % (field, describe(key)))
    title = key[len(KEY_PREFIX):] if key.startswith(KEY_PREFIX) else key
    if not _TITLE.match(title):
        raise ExtraConfigError("%s: key %r gives the title %r; a title is one or more characters without "
                               "whitespace" % (field, key, title))
    return title


def normalize_sections(sections, field='extraconfig'):
    """Mapping or list -> [(title or None, xml)].

    Mapping: ``{'extraconfig-dpdk-numa': xml}`` or ``{'dpdk-numa': xml}``. List items: an XML
    string (untitled) or ``{'title': .., 'xml': ..}`` / ``{'key': .., 'value': ..}``. A key
    ``extraconfig-<N>`` whose N is the section's own position is written untitled, which
    is how CloudStack names it back.
    """
    items = []
    if isinstance(sections, dict):
        for key, value in sections.items():
            items.append((_title_from_key(key, field), value))
    elif isinstance(sections, (list, tuple)):
        for index, item in enumerate(sections, start=1):
            if isinstance(item, str):
                items.append((None, item))
            elif isinstance(item, dict):
                xml = item.get('xml', item.get('value'))
                key = item.get('title', item.get('key'))
                title = None if key is None else _title_from_key(key, '%s[%d]' % (field, index - 1))
                items.append((title, xml))
            else:
                raise ExtraConfigError('%s[%d]: must be an XML string or a dict with xml and title '
                                       '(got %s)' % (field, index - 1, describe(item)))
    else:
        raise ExtraConfigError('%s: must be a mapping of keys to XML or a list of sections (got %s)'
                               % (field, describe(sections)))
    if not items:
        raise ExtraConfigError('%s: holds no section (got %s)' % (field, describe(sections)))
    out = []
    for position, (title, xml) in enumerate(items, start=1):
        if not isinstance(xml, str):
            raise ExtraConfigError('%s: section %d must be a string of XML (got %s)'
                                   % (field, position, describe(xml)))
        if title is not None and title.isdigit() and int(title) == position:
            title = None
        out.append((title, xml))
    return out


def compose(sections, field='extraconfig'):
    """[(title, xml)] -> the decoded text CloudStack splits back into the same sections.

    Leading and trailing line breaks of each XML value are dropped (YAML block scalars end
    in one), except that the last section keeps one trailing line break when it had one.
    """
    texts = []
    last = len(sections)
    for position, (title, xml) in enumerate(sections, start=1):
        label = 'section %d (%s)' % (position, detail_key(title, position))
        body = xml.strip('\n')
        if position == last and xml.endswith('\n') and body:
            body += '\n'
        if '\n\n' in body:
            raise ExtraConfigError('%s: contains an empty line, which CloudStack takes as the start of a '
                                   'new section (got %s)' % (label, describe(xml)))
        if title is None:
            if _TITLE_LINE.match(java_split(body, '\n')[0] if body else ''):
                raise ExtraConfigError('%s: its first line looks like a title to CloudStack (got %s)'
                                       % (label, describe(body.split('\n')[0])))
            texts.append(body)
        else:
            if title + ':\n' in body:
                raise ExtraConfigError('%s: contains "%s:" followed by a line break, which CloudStack '
                                       'deletes from the value' % (label, title))
            texts.append(title + ':\n' + body)
    return '\n\n'.join(texts)


def encode(sections, validate=True, allowed_elements=None, cloudstack_allow_list=None,
           field='extraconfig'):
    """Sections (mapping or list) -> the URL-encoded API string.

    With ``validate`` every section's XML is checked, duplicate keys and the API's length
    limit are refused, and the result is split back to prove CloudStack stores exactly
    these sections. ``cloudstack_allow_list`` (CloudStack's own list) refuses what
    CloudStack's allow-list check would refuse at deploy time or at a VM start.
    """
    allowed = normalize_allow_list('allowed_elements', allowed_elements)
    items = normalize_sections(sections, field)
    decoded = compose(items, field)
    result = url_encode(decoded)
    stored = split_sections(decoded)
    expected = [(detail_key(t, p), x) for p, (t, x) in enumerate(items, 1)]
    if validate:
        validate_sections(stored, allowed)
        if len(result) > API_MAX_LENGTH:
            raise ExtraConfigError('%s: the encoded string is %d characters; CloudStack takes at most %d'
                                   % (field, len(result), API_MAX_LENGTH))
    if [s.key for s in stored] != [k for k, _x in expected]:
        raise ExtraConfigError('%s: CloudStack would store the keys %s instead of %s'
                               % (field, [s.key for s in stored], [k for k, _x in expected]))
    if cloudstack_allow_list is not None:
        problems = []
        refused = cloudstack_allow_list_violations(decoded, cloudstack_allow_list)
        if refused:
            problems.append('deploy/update refuses %s' % ', '.join('<%s>' % n for n in refused))
        for section in stored:
            refused = cloudstack_allow_list_violations(section.value, cloudstack_allow_list)
            if refused:
                problems.append('%s: VM start refuses %s' % (section.key, ', '.join('<%s>' % n for n in refused)))
        if problems:
            raise ExtraConfigError('cloudstack_allow_list: CloudStack checks every element at every depth '
                                   '(and skips the check when a ":" is in the text): %s' % '; '.join(problems))
    return result
