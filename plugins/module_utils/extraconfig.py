# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""CloudStack's VM ``extraconfig``: the API string, its sections, DPDK rules, libvirt merge.

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
* On the KVM host every ``extraconfig*`` value except ``extraconfig-dpdk-interface-*`` is
  appended as raw text at the domain root; ``extraconfig-dpdk-numa`` makes the agent leave
  out its own ``<cpu>``; ``extraconfig-dpdk-interface-*`` values are appended inside every
  vhost-user ``<interface>``.

docs/extraconfig.md lists every behaviour and which ones this collection refuses.
"""

import copy
import re
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape as xml_escape

from ansible_collections.cloudstack.ovs.plugins.module_utils.secrets import MASK, is_secret_name

from ansible_collections.cloudstack.ovs.plugins.module_utils.validate import (
    MAX_DEPTH,
    check_element_depth,
    describe,
)

EXTRA_CONFIG = 'extraconfig'
KEY_PREFIX = EXTRA_CONFIG + '-'
DPDK_NUMA = KEY_PREFIX + 'dpdk-numa'
DPDK_HUGE_PAGES = KEY_PREFIX + 'dpdk-hugepages'
DPDK_INTERFACE_PREFIX = KEY_PREFIX + 'dpdk-interface-'
DPDK_VHOST_USER_MODE = 'DPDK-VHOSTUSER'
VHOST_USER_MODES = ('server', 'client')
# deployVirtualMachine/updateVirtualMachine declare the parameter with length = 5120.
API_MAX_LENGTH = 5120
QEMU_NS = 'http://libvirt.org/schemas/domain/qemu/1.0'
# Prefixes a section may use without declaring them (libvirt's own namespaces).
KNOWN_NAMESPACES = {'qemu': QEMU_NS}
# Root elements of a libvirt domain that may occur more than once; every other root
# element is single, so a section replaces it.
REPEATABLE_ROOT_ELEMENTS = ('seclabel',)

_WRAPPER = 'cloudstack-ovs-extraconfig'
# Java's \S without UNICODE_CHARACTER_CLASS: anything but these six ASCII characters.
_JAVA_WS = ' \t\n\x0b\f\r'
_TITLE_LINE = re.compile(r'[^ \t\n\x0b\f\r]+:\Z')
_TITLE = re.compile(r'[^ \t\n\x0b\f\r]+\Z')
# Anything that opens a markup declaration (<!DOCTYPE, <!ENTITY, <!ELEMENT, ...).
_MARKUP_DECL = re.compile(r'<!(?!--|\[CDATA\[)')
_COMMENT_OR_CDATA = re.compile(r'<!--.*?-->|<!\[CDATA\[.*?\]\]>', re.S)
_SINGLE_QUOTED_ATTR = re.compile(r"<[^<>!?/][^<>]*?=\s*'")
_HEX = '0123456789abcdefABCDEF'
_UNRESERVED = frozenset('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~')


class ExtraConfigError(ValueError):
    """Bad input; the message names the field or section and the value."""


def _short(value, limit=60):
    return describe(value, limit)


# ---------------------------------------------------------------- URL encoding

def java_url_decode(text, field='extraconfig'):
    """Decode like Java's ``URLDecoder.decode(text, "UTF-8")``.

    ``+`` is a space; each run of ``%XX`` escapes is one UTF-8 byte sequence. As in Java,
    the two characters after ``%`` go through ``Integer.parseInt(.., 16)``, so a sign is
    accepted (``%+A`` is 0x0A, ``%-0`` is 0x00) and ``%-1`` is refused.
    Unlike Java, bytes that are not UTF-8 are refused instead of becoming U+FFFD.
    """
    if not isinstance(text, str):
        raise ExtraConfigError('%s: must be a string (got %s)' % (field, _short(text)))
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
                                           % (field, i, _short(text[i:])))
                raw.append(_java_hex_pair(pair, field, i))
                i += 3
            try:
                out.append(raw.decode('utf-8'))
            except UnicodeDecodeError:
                raise ExtraConfigError('%s: escapes at position %d are not UTF-8 (got %s)'
                                       % (field, start, _short(text[start:i])))
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
    out = []
    for char in text:
        if char in _UNRESERVED:
            out.append(char)
        else:
            out.extend('%%%02X' % b for b in char.encode('utf-8'))
    return ''.join(out)


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
        self.key = KEY_PREFIX + (title if title is not None else str(position))
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


# ---------------------------------------------------------------- safe XML

def _refuse_declarations(text, where):
    match = _MARKUP_DECL.search(text)
    if match:
        raise ExtraConfigError('%s: markup declarations (<!DOCTYPE, <!ENTITY, ...) are refused: no DTDs, '
                               'entities or external references (got %s)'
                               % (where, _short(text[match.start():match.start() + 40])))


def _parse(document, where, line_offset=0):
    """Parse a complete document that has no markup declarations; return (root, {uri: prefix})."""
    parser = ET.XMLPullParser(events=('start-ns', 'start'))
    root = None
    prefixes = {}
    try:
        parser.feed(document)
        parser.close()
    except ET.ParseError as exc:
        line, column = getattr(exc, 'position', (0, 0))
        raise ExtraConfigError('%s: not well-formed XML: %s (line %d, column %d)'
                               % (where, str(exc).split(':', maxsplit=1)[0], max(line - line_offset, 1), column))
    for event, payload in parser.read_events():
        if event == 'start-ns':
            prefix, uri = payload
            prefixes.setdefault(uri, prefix)
        elif event == 'start' and root is None:
            root = payload
    return root, prefixes


def parse_document(text, where='domain XML'):
    """Safely parse a whole XML document (e.g. a libvirt domain). Returns (root, {uri: prefix})."""
    if not isinstance(text, str):
        raise ExtraConfigError('%s: must be a string (got %s)' % (where, _short(text)))
    _refuse_declarations(text, where)
    return _parse(text, where)


def parse_fragment(text, where):
    """Safely parse one section: returns (top-level elements, stray text, {uri: prefix}).

    The fragment is wrapped in an element that declares libvirt's ``qemu`` prefix, so
    ``<qemu:commandline>`` works without its own xmlns declaration.
    """
    if not isinstance(text, str):
        raise ExtraConfigError('%s: must be a string of XML (got %s)' % (where, _short(text)))
    _refuse_declarations(text, where)
    decls = ''.join(' xmlns:%s="%s"' % item for item in sorted(KNOWN_NAMESPACES.items()))
    wrapper, prefixes = _parse('<%s%s>%s</%s>' % (_WRAPPER, decls, text, _WRAPPER), where)
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


def normalize_allow_list(field, allowed):
    """A list of element names, or a CloudStack-style comma-separated string; None = no list."""
    if allowed is None:
        return None
    if isinstance(allowed, str):
        allowed = allowed.split(',')
    if not isinstance(allowed, (list, tuple)):
        raise ExtraConfigError('%s: must be a list of element names (got %s)' % (field, _short(allowed)))
    names = []
    for name in allowed:
        if not isinstance(name, str):
            raise ExtraConfigError('%s: element names must be strings (got %s)' % (field, _short(name)))
        if name.strip():
            names.append(name.strip())
    return names


def validate_section_xml(label, value, allowed_elements=None):
    """Check one section's XML; return its top-level elements. Errors name ``label``."""
    if '\r' in value:
        raise ExtraConfigError('%s: contains carriage returns (CRLF line breaks); CloudStack splits sections '
                               'and titles only on \\n (got %s)' % (label, _short(value)))
    if not value.strip():
        raise ExtraConfigError('%s: is empty (got %r)' % (label, value))
    bare = _COMMENT_OR_CDATA.sub('', value)
    match = _SINGLE_QUOTED_ATTR.search(bare)
    if match:
        raise ExtraConfigError('%s: attribute values must be in double quotes, not single quotes (got %s)'
                               % (label, _short(bare[match.start():match.end() + 20])))
    elements, stray, prefixes = parse_fragment(value, label)
    if stray:
        raise ExtraConfigError('%s: text outside the XML elements (a title needs its own first line '
                               'without spaces, ending in ":") (got %s)' % (label, _short(stray)))
    if not elements:
        raise ExtraConfigError('%s: holds no XML element (got %s)' % (label, _short(value)))
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
    _refuse_declarations(decoded, where)
    root, _prefixes = _parse('<config>\n%s\n</config>' % decoded, where, line_offset=1)
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
        raise ExtraConfigError('%s: keys must be non-empty strings (got %s)' % (field, _short(key)))
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
                                       '(got %s)' % (field, index - 1, _short(item)))
    else:
        raise ExtraConfigError('%s: must be a mapping of keys to XML or a list of sections (got %s)'
                               % (field, _short(sections)))
    if not items:
        raise ExtraConfigError('%s: holds no section (got %s)' % (field, _short(sections)))
    out = []
    for position, (title, xml) in enumerate(items, start=1):
        if not isinstance(xml, str):
            raise ExtraConfigError('%s: section %d must be a string of XML (got %s)'
                                   % (field, position, _short(xml)))
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
        label = 'section %d (%s)' % (position, KEY_PREFIX + (title if title is not None else str(position)))
        body = xml.strip('\n')
        if position == last and xml.endswith('\n') and body:
            body += '\n'
        if '\n\n' in body:
            raise ExtraConfigError('%s: contains an empty line, which CloudStack takes as the start of a '
                                   'new section (got %s)' % (label, _short(xml)))
        if title is None:
            if _TITLE_LINE.match(java_split(body, '\n')[0] if body else ''):
                raise ExtraConfigError('%s: its first line looks like a title to CloudStack (got %s)'
                                       % (label, _short(body.split('\n')[0])))
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
    expected = [(KEY_PREFIX + (t if t is not None else str(p)), x) for p, (t, x) in enumerate(items, 1)]
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


# ---------------------------------------------------------------- DPDK XML builders

_SIZE = re.compile(r'^\s*(\d+)\s*([A-Za-z]*)\s*$')
_UNITS = {'': None, 'b': 1, 'k': 1024, 'kb': 1024, 'kib': 1024, 'm': 1024 ** 2, 'mb': 1024 ** 2,
          'mib': 1024 ** 2, 'g': 1024 ** 3, 'gb': 1024 ** 3, 'gib': 1024 ** 3, 't': 1024 ** 4,
          'tb': 1024 ** 4, 'tib': 1024 ** 4}


def size_to_kib(field, value, default_unit='MiB'):
    """A size as int (in ``default_unit``) or string such as ``9G``, ``9216MiB``, ``9437184KiB``.

    Units are binary (CloudStack's offering memory "MB" is MiB). Returns whole KiB.
    """
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ExtraConfigError('%s: must be a size such as 9216 (%s) or "9G" (got %s)'
                               % (field, default_unit, _short(value)))
    match = _SIZE.match(str(value))
    if not match:
        raise ExtraConfigError('%s: must be a whole number with an optional unit (K, M, G, T; binary) '
                               '(got %s)' % (field, _short(value)))
    number, unit = int(match.group(1)), match.group(2).lower()
    if unit not in _UNITS:
        raise ExtraConfigError('%s: unknown unit %r; use KiB, MiB, GiB or TiB (got %s)'
                               % (field, match.group(2), _short(value)))
    factor = _UNITS[unit] or _UNITS[default_unit.lower()]
    total = number * factor
    if total <= 0 or total % 1024:
        raise ExtraConfigError('%s: must be a positive whole number of KiB (got %s)' % (field, _short(value)))
    return total // 1024


_CPUSET = re.compile(r'^\d+(-\d+)?(,\d+(-\d+)?)*$')


def cpuset(field, cpus=None, vcpus=None):
    """libvirt cpuset text from a list of CPU ids, a cpuset string or a vCPU count."""
    if vcpus is not None:
        if cpus is not None:
            raise ExtraConfigError('%s: give either cpus or vcpus, not both (got %s and %s)'
                                   % (field, _short(cpus), _short(vcpus)))
        if isinstance(vcpus, bool) or not isinstance(vcpus, int) or vcpus < 1:
            raise ExtraConfigError('vcpus: must be a positive number of vCPUs (got %s)' % _short(vcpus))
        return '0' if vcpus == 1 else '0-%d' % (vcpus - 1)
    if cpus is None:
        return '0'
    if isinstance(cpus, bool):
        raise ExtraConfigError('%s: must be a list of CPU ids or a cpuset like "0-3" (got %s)' % (field, cpus))
    if isinstance(cpus, int):
        cpus = [cpus]
    if isinstance(cpus, (list, tuple)):
        ids = []
        for cpu in cpus:
            if isinstance(cpu, bool) or not isinstance(cpu, int) or cpu < 0:
                raise ExtraConfigError('%s: CPU ids must be whole numbers >= 0 (got %s)' % (field, _short(cpu)))
            ids.append(cpu)
        if not ids:
            raise ExtraConfigError('%s: names no CPU (got [])' % field)
        ids = sorted(set(ids))
        ranges = []
        start = prev = ids[0]
        for cpu in ids[1:] + [None]:
            if cpu is not None and cpu == prev + 1:
                prev = cpu
                continue
            ranges.append(str(start) if start == prev else '%d-%d' % (start, prev))
            start = prev = cpu
        return ','.join(ranges)
    if isinstance(cpus, str):
        text = cpus.replace(' ', '')
        if not _CPUSET.match(text):
            raise ExtraConfigError('%s: must be a cpuset like "0", "0-3" or "0-1,4" (got %s)' % (field, _short(cpus)))
        for part in text.split(','):
            low, _sep, high = part.partition('-')
            if high and int(high) < int(low):
                raise ExtraConfigError('%s: range %s runs backwards (got %s)' % (field, part, _short(cpus)))
        return text
    raise ExtraConfigError('%s: must be a list of CPU ids or a cpuset like "0-3" (got %s)' % (field, _short(cpus)))


def dpdk_hugepages_xml(page_size=None):
    """The ``dpdk-hugepages`` section: guest memory backed by huge pages.

    ``page_size`` (optional; int KiB or "2M"/"1G") pins the huge page size.
    """
    if page_size is None:
        return '<memoryBacking>\n  <hugepages/>\n</memoryBacking>'
    kib = size_to_kib('page_size', page_size, default_unit='KiB')
    return ('<memoryBacking>\n  <hugepages>\n    <page size="%d" unit="KiB"/>\n  </hugepages>\n'
            '</memoryBacking>' % kib)


NUMA_CPU_MODES = ('host-passthrough', 'host-model')
MEM_ACCESS = ('shared', 'private')


def dpdk_numa_xml(memory, cpus=None, vcpus=None, unit='MiB', mode='host-passthrough', cell_id=0,
                  mem_access='shared'):
    """The ``dpdk-numa`` section: one NUMA cell with shared memory (vhost-user needs it).

    ``memory`` is the VM's memory (int in ``unit``, default MiB like CloudStack offerings,
    or a string such as "9G"); libvirt takes the domain's memory from the NUMA cells, so
    it should equal the offering's memory. ``cpus`` (list or cpuset) or ``vcpus`` (count)
    name the cell's vCPUs; the default is vCPU 0.
    """
    if unit not in ('KiB', 'MiB', 'GiB'):
        raise ExtraConfigError('unit: must be KiB, MiB or GiB (got %s)' % _short(unit))
    kib = size_to_kib('memory', memory, default_unit=unit)
    cpu_text = cpuset('cpus', cpus, vcpus)
    if mode not in NUMA_CPU_MODES:
        raise ExtraConfigError('mode: must be one of %s (got %s)' % (', '.join(NUMA_CPU_MODES), _short(mode)))
    if isinstance(cell_id, bool) or not isinstance(cell_id, int) or cell_id < 0:
        raise ExtraConfigError('cell_id: must be a whole number >= 0 (got %s)' % _short(cell_id))
    if mem_access not in MEM_ACCESS:
        raise ExtraConfigError('mem_access: must be one of %s; vhost-user needs shared (got %s)'
                               % (', '.join(MEM_ACCESS), _short(mem_access)))
    return ('<cpu mode="%s">\n  <numa>\n    <cell id="%d" cpus="%s" memory="%d" unit="KiB" memAccess="%s"/>\n'
            '  </numa>\n</cpu>' % (mode, cell_id, cpu_text, kib, mem_access))


# ---------------------------------------------------------------- offering details

def offering_key_allowed(key):
    """createServiceOffering accepts only these extraconfig keys in its details."""
    return key in (DPDK_NUMA, DPDK_HUGE_PAGES) or (
        key.startswith(DPDK_INTERFACE_PREFIX) and len(key) > len(DPDK_INTERFACE_PREFIX))


def service_offering_details(sections, vhost_user_mode='server', validate=True, output='list'):
    """The ``serviceofferingdetails`` of createServiceOffering for a DPDK offering.

    ``sections``: a mapping/list as for encode(), or an encoded API string. Values are
    URL-encoded (CloudStack URL-decodes them and silently drops a value it cannot decode).
    ``vhost_user_mode``: ``server`` (default) or ``client``, or None to leave the
    DPDK-VHOSTUSER detail out (CloudStack then uses server too).
    ``output``: ``list`` of {key, value}, ``dict`` key -> value, or ``cmk`` arguments.
    """
    if isinstance(sections, str):
        details = decode(sections, validate=validate)
        items = list(details.items())
    else:
        items = [(KEY_PREFIX + (t if t is not None else str(p)), x)
                 for p, (t, x) in enumerate(normalize_sections(sections, 'sections'), start=1)]
    out = []
    seen = set()
    for key, xml in items:
        if not offering_key_allowed(key):
            raise ExtraConfigError('sections: %s is not accepted in service offering details; CloudStack takes '
                                   'only %s, %s and %s<TAG> (got %s)'
                                   % (key, DPDK_NUMA, DPDK_HUGE_PAGES, DPDK_INTERFACE_PREFIX, key))
        if key in seen:
            raise ExtraConfigError('sections: duplicate key %s' % key)
        seen.add(key)
        body = xml.strip('\n')
        if validate:
            validate_section_xml(key, body)
        out.append((key, url_encode(body)))
    if vhost_user_mode is not None:
        mode = vhost_user_mode.lower() if isinstance(vhost_user_mode, str) else vhost_user_mode
        if mode not in VHOST_USER_MODES:
            raise ExtraConfigError('vhost_user_mode: must be server or client; CloudStack ignores any other '
                                   'value (got %s)' % _short(vhost_user_mode))
        out.append((DPDK_VHOST_USER_MODE, mode))
    if output == 'list':
        return [dict(key=k, value=v) for k, v in out]
    if output == 'dict':
        return dict(out)
    if output == 'cmk':
        args = []
        for index, (key, value) in enumerate(out):
            args.append('serviceofferingdetails[%d].key=%s' % (index, key))
            args.append('serviceofferingdetails[%d].value=%s' % (index, value))
        return args
    raise ExtraConfigError('output: must be list, dict or cmk (got %s)' % _short(output))


# ---------------------------------------------------------------- DPDK VM rules

def _details(obj, *names):
    """A details mapping from a CloudStack API object (dict) or a plain mapping."""
    if obj is None:
        return {}
    if not isinstance(obj, dict):
        raise ExtraConfigError('%s: must be a dict (got %s)' % (names[0], _short(obj)))
    for name in names:
        value = obj.get(name)
        if isinstance(value, dict):
            return value
        if isinstance(value, list):
            # [{key:, value:}] or [{name:, value:}] as some API clients return them
            out = {}
            for entry in value:
                if isinstance(entry, dict):
                    key = entry.get('key', entry.get('name'))
                    if key is not None:
                        out[key] = entry.get('value')
            return out
    return {}


def _find(items, ident, field):
    if items is None:
        return None
    if isinstance(items, dict):
        return items
    if not isinstance(items, (list, tuple)):
        raise ExtraConfigError('%s: must be a dict or a list of dicts (got %s)' % (field, _short(items)))
    for item in items:
        if isinstance(item, dict) and ident is not None and item.get('id') == ident:
            return item
    return None


def is_dpdk_host(host):
    """CloudStack: a host is DPDK-enabled when its capabilities string contains ``dpdk``."""
    if not isinstance(host, dict):
        raise ExtraConfigError('host: must be a dict from listHosts (got %s)' % _short(host))
    capabilities = host.get('capabilities') or ''
    if isinstance(capabilities, (list, tuple)):
        capabilities = ','.join(str(c) for c in capabilities)
    return 'dpdk' in capabilities


def has_dpdk_details(vm, offering=None):
    """Both dpdk-numa and dpdk-hugepages, from the VM's details and its offering's together."""
    keys = set(_details(vm, 'details'))
    keys.update(_details(offering, 'serviceofferingdetails', 'details'))
    return DPDK_NUMA in keys and DPDK_HUGE_PAGES in keys


def is_dpdk_vm(vm, hosts=None, offerings=None):
    """CloudStack's isVMDpdkEnabled for a listVirtualMachines entry.

    A running user VM (state Running), on a host whose capabilities contain ``dpdk``
    (``hosts``: the host dict or listHosts), with ``extraconfig-dpdk-numa`` and
    ``extraconfig-dpdk-hugepages`` in its own details or its offering's (``offerings``:
    the offering dict or listServiceOfferings; found by serviceofferingid).
    """
    if not isinstance(vm, dict):
        raise ExtraConfigError('vm: must be a dict from listVirtualMachines (got %s)' % _short(vm))
    vm_type = vm.get('type', vm.get('vmtype', 'User'))
    if vm_type not in ('User', 'UserVm'):
        return False
    if vm.get('state') != 'Running':
        return False
    offering = _find(offerings, vm.get('serviceofferingid'), 'offerings')
    if not has_dpdk_details(vm, offering):
        return False
    host = _find(hosts, vm.get('hostid'), 'hosts')
    if host is None:
        raise ExtraConfigError("hosts: no host with id %s (the VM's hostid) was given" % _short(vm.get('hostid')))
    return is_dpdk_host(host)


def dpdk_migration_targets(vm, hosts, offerings=None):
    """Hosts a running VM may live-migrate to under CloudStack's DPDK rule.

    Other hosts of the source host's cluster that are Up and Enabled (when listHosts says
    so); for a DPDK VM only those whose capabilities contain ``dpdk``. A VM that is not
    running has no live-migration target: the result is empty.
    """
    if not isinstance(vm, dict):
        raise ExtraConfigError('vm: must be a dict from listVirtualMachines (got %s)' % _short(vm))
    if not isinstance(hosts, (list, tuple)):
        raise ExtraConfigError('hosts: must be the list of hosts from listHosts (got %s)' % _short(hosts))
    if vm.get('state') != 'Running':
        return []
    source = _find(hosts, vm.get('hostid'), 'hosts')
    if source is None:
        raise ExtraConfigError("hosts: no host with id %s (the VM's hostid) was given" % _short(vm.get('hostid')))
    dpdk = is_dpdk_vm(vm, source, offerings)
    targets = []
    for host in hosts:
        if not isinstance(host, dict) or host.get('id') == source.get('id'):
            continue
        if host.get('clusterid') != source.get('clusterid'):
            continue
        if host.get('type', 'Routing') != 'Routing':
            continue
        if host.get('state', 'Up') != 'Up' or host.get('resourcestate', 'Enabled') != 'Enabled':
            continue
        if dpdk and not is_dpdk_host(host):
            continue
        targets.append(host)
    return targets


# ---------------------------------------------------------------- libvirt domain merge

def _text(value):
    return (value or '').strip()


def element_covers(have, want):
    """True when ``have`` holds everything ``want`` says (libvirt may add defaults of its own).

    Same tag; every attribute of ``want`` with the same value; the same text when ``want``
    has text; each child of ``want`` covered by a distinct child of ``have``.
    """
    if have.tag != want.tag:
        return False
    for name, value in want.attrib.items():
        if have.get(name) != value:
            return False
    if _text(want.text) and _text(want.text) != _text(have.text):
        return False
    free = list(have)
    for wanted_child in want:
        for index, candidate in enumerate(free):
            if element_covers(candidate, wanted_child):
                del free[index]
                break
        else:
            return False
    return True


def _describe(element, prefixes):
    return '<%s>' % qualified_name(element.tag, prefixes)


def _interface_label(interface):
    mac = interface.find('mac')
    if mac is not None and mac.get('address'):
        return 'vhost-user interface %s' % mac.get('address')
    source = interface.find('source')
    if source is not None and source.get('path'):
        return 'vhost-user interface %s' % source.get('path')
    return 'vhost-user interface'


def _merge_single(parent, element, where, prefixes, actions):
    """Put ``element`` into ``parent``, replacing other children of the same tag."""
    same = [child for child in parent if child.tag == element.tag]
    if any(element_covers(child, element) for child in same):
        return
    if same:
        index = list(parent).index(same[0])
        for child in same:
            parent.remove(child)
        parent.insert(index, copy.deepcopy(element))
        actions.append('replace %s in %s' % (_describe(element, prefixes), where))
    else:
        parent.append(copy.deepcopy(element))
        actions.append('add %s to %s' % (_describe(element, prefixes), where))


def _merge_repeatable(parent, element, where, prefixes, actions):
    if any(element_covers(child, element) for child in parent if child.tag == element.tag):
        return
    parent.append(copy.deepcopy(element))
    actions.append('add %s to %s' % (_describe(element, prefixes), where))


def _remove_covered(parent, element, where, prefixes, actions):
    for child in [c for c in parent if element_covers(c, element)]:
        parent.remove(child)
        actions.append('remove %s from %s' % (_describe(element, prefixes), where))


def vhost_user_interfaces(root):
    devices = root.find('devices')
    if devices is None:
        return []
    return [iface for iface in devices.findall('interface') if iface.get('type') == 'vhostuser']


def plan_domain(domain_xml, details, state='present', allowed_elements=None):
    """Merge (or take out) extraconfig sections in a libvirt domain XML.

    ``details``: {key: xml} as decode() returns. Sections go to the domain root, one root
    element of a kind (``<cpu>``, ``<memoryBacking>``, ...) replacing the existing one;
    a ``<devices>`` section adds its devices; ``extraconfig-dpdk-interface-*`` content goes
    into every vhost-user interface. An element already covering the section (libvirt adds
    default attributes) is left alone, so a second run changes nothing.
    Returns dict(changed, actions, warnings, before, after, xml).
    """
    allowed = normalize_allow_list('allowed_elements', allowed_elements)
    root, prefixes = parse_document(domain_xml)
    if root is None or root.tag != 'domain':
        raise ExtraConfigError('domain XML: the root element is not <domain> (got %s)'
                               % _short(None if root is None else root.tag))
    original = canonical_xml(domain_xml)
    actions = []
    warnings = []
    for key, xml in details.items():
        if not isinstance(key, str) or not key.startswith(KEY_PREFIX):
            raise ExtraConfigError('extraconfig: keys must start with %s (got %s)' % (KEY_PREFIX, _short(key)))
        elements = validate_section_xml(key, xml, allowed)
        section_prefixes = dict(prefixes)
        section_prefixes.update({uri: p for p, uri in KNOWN_NAMESPACES.items() if uri not in section_prefixes})
        if key.startswith(DPDK_INTERFACE_PREFIX):
            interfaces = vhost_user_interfaces(root)
            if not interfaces:
                warnings.append('%s: the domain has no vhost-user interface to put it into' % key)
            for interface in interfaces:
                where = _interface_label(interface)
                for element in elements:
                    if state == 'present':
                        _merge_single(interface, element, where, section_prefixes, actions)
                    else:
                        _remove_covered(interface, element, where, section_prefixes, actions)
            continue
        for element in elements:
            if element.tag == 'devices':
                devices = root.find('devices')
                if devices is None:
                    if state == 'present':
                        devices = ET.SubElement(root, 'devices')
                    else:
                        continue
                for device in element:
                    if state == 'present':
                        _merge_repeatable(devices, device, '<devices>', section_prefixes, actions)
                    else:
                        _remove_covered(devices, device, '<devices>', section_prefixes, actions)
            elif state == 'absent':
                _remove_covered(root, element, 'domain root', section_prefixes, actions)
            elif element.tag in REPEATABLE_ROOT_ELEMENTS:
                _merge_repeatable(root, element, 'domain root', section_prefixes, actions)
            else:
                _merge_single(root, element, 'domain root', section_prefixes, actions)
    _register_prefixes(prefixes)
    new_xml = ET.tostring(root, encoding='unicode')
    changed = canonical_xml(new_xml) != original
    return dict(changed=changed, actions=actions if changed else [], warnings=warnings,
                before=pretty_xml(domain_xml), after=pretty_xml(new_xml), xml=new_xml)


def missing_sections(domain_xml, details):
    """Keys whose elements the domain does not hold (to verify what libvirt kept)."""
    root, _prefixes = parse_document(domain_xml)
    missing = []
    for key, xml in details.items():
        elements, _stray, _p = parse_fragment(xml, key)
        if key.startswith(DPDK_INTERFACE_PREFIX):
            holders = vhost_user_interfaces(root)
        else:
            holders = [root]
        ok = True
        for element in elements:
            if element.tag == 'devices' and not key.startswith(DPDK_INTERFACE_PREFIX):
                devices = root.find('devices')
                ok = ok and devices is not None and all(
                    any(element_covers(d, want) for d in devices) for want in element)
            else:
                ok = ok and all(any(element_covers(c, element) for c in holder) for holder in holders)
        if not ok:
            missing.append(key)
    return missing


def _register_prefixes(prefixes):
    for uri, prefix in prefixes.items():
        if prefix:
            try:
                ET.register_namespace(prefix, uri)
            except ValueError:
                # ElementTree reserves ns<digits>; it picks such names itself anyway.
                pass


def _indent(element, level=0):
    """Indent in place (ElementTree.indent needs Python 3.9; targets may have 3.8)."""
    children = list(element)
    if children:
        element.text = '\n' + '  ' * (level + 1)
        for child in children:
            _indent(child, level + 1)
            child.tail = '\n' + '  ' * (level + 1)
        children[-1].tail = '\n' + '  ' * level


def canonical_xml(xml):
    """C14N 2.0 form with insignificant whitespace stripped: equal XML compares equal."""
    _refuse_declarations(xml, 'domain XML')
    return ET.canonicalize(xml_data=xml, strip_text=True)


def _local_name(name):
    return name.rsplit('}', 1)[-1]


def secret_values(xml):
    """Values of every secret-named attribute (VNC/SPICE ``passwd`` ...) in ``xml`` (a
    section or a whole document), by parsing, so quoting does not matter. Unparseable
    text gives nothing."""
    try:
        roots = parse_fragment(xml, 'xml')[0]
    except (ExtraConfigError, ET.ParseError, ValueError, TypeError):
        try:
            roots = [parse_document(xml)[0]]
        except (ExtraConfigError, ET.ParseError, ValueError, TypeError):
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


def pretty_xml(xml, mask_secrets=True):
    """Indented XML for diffs. Secret-named attributes (VNC/SPICE ``passwd``, see
    module_utils/secrets.py) are masked on the parsed tree, whatever quotes the source
    used and whatever quote the value holds."""
    root, prefixes = parse_document(xml)
    _register_prefixes(prefixes)
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
    _indent(tree)
    return ET.tostring(tree, encoding='unicode') + '\n'
