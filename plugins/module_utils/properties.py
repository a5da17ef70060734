# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Edit Java properties files the way ``java.util.Properties.load`` reads them.

Pure text logic: parse, plan, render, mask, and :func:`read_file` (the bytes as the agent
decodes them). Writing the file (temporary file, lock, rename) is in ``properties_file``;
the ``agent_properties`` module's request, plan and apply are in ``agent_properties``.

Encoding
    CloudStack's agent reads ``agent.properties`` with
    ``PropertiesUtil.loadFromFile`` -> ``Properties.load(InputStream)``, and an
    ``InputStream`` is decoded as ISO-8859-1, not UTF-8. So the file is parsed here
    as ISO-8859-1 too: every byte maps to one character, which makes the round trip
    lossless and means we see exactly the values the agent sees. Everything we
    *write* is plain ASCII: characters outside printable ASCII become ``\\uXXXX``
    escapes (UTF-16 code units, like ``Properties.store``), which read the same
    under ISO-8859-1 and UTF-8 readers.

Model
    The file is a list of :class:`Entry` objects; each keeps its raw text
    (including line terminators), so entries we do not touch are written back
    byte for byte and ``''.join(raw)`` is the original file.
"""

import errno
import re

from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import ParamError
from ansible_collections.cloudstack.ovs.plugins.module_utils.secrets import (  # noqa: F401
    MASK,
    is_secret_name,
)

ENCODING = 'iso-8859-1'
# java.util.Properties treats these three as whitespace (not \r or \n: they end lines).
_WS = ' \t\f'
_LINE_RE = re.compile(r'([^\r\n]*)(\r\n|\r|\n|$)')


class PropertiesError(ParamError):
    """The file cannot be read as java.util.Properties would (message names line)."""


class Entry(object):
    """One logical piece of the file.

    kind: ``'blank'``, ``'comment'`` or ``'property'``.
    raw: the exact text, all natural lines with their terminators.
    For properties also: ``key``/``value`` (unescaped), ``prefix`` (the text of the
    first natural line up to where the value starts, used to keep the author's
    separator style when the value is rewritten), ``terminator`` (of the last natural
    line) and ``open`` (the entry ends in a continuation backslash at end of file).
    """

    __slots__ = ('kind', 'raw', 'key', 'value', 'prefix', 'terminator', 'open', 'lineno')

    def __init__(self, kind, raw, key=None, value=None, prefix=None, terminator='',
                 open_=False, lineno=0):
        self.kind = kind
        self.raw = raw
        self.key = key
        self.value = value
        self.prefix = prefix
        self.terminator = terminator
        self.open = open_
        self.lineno = lineno

    def __repr__(self):
        return 'Entry(%r, %r, key=%r, value=%r)' % (self.kind, self.raw, self.key, self.value)


# ---------------------------------------------------------------- reading

def natural_lines(text):
    """Split into (content, terminator) pairs; ``\\r\\n``, ``\\r`` and ``\\n`` end lines."""
    lines = []
    pos = 0
    end = len(text)
    while pos < end:
        match = _LINE_RE.match(text, pos)
        lines.append((match.group(1), match.group(2)))
        pos = match.end()
    return lines


def _trailing_backslashes(piece):
    count = 0
    for char in reversed(piece):
        if char != '\\':
            break
        count += 1
    return count


def unescape(text, lineno=0):
    """``Properties.loadConvert``: ``\\uXXXX``, ``\\t \\n \\r \\f``, else drop the backslash."""
    out = []
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        i += 1
        if char != '\\':
            out.append(char)
            continue
        if i >= n:
            # Java drops a lone trailing backslash (continuation at end of file).
            break
        char = text[i]
        i += 1
        if char == 'u':
            digits = text[i:i + 4]
            if len(digits) != 4 or not all(d in '0123456789abcdefABCDEF' for d in digits):
                raise PropertiesError('line %d: malformed \\uxxxx escape %r; java.util.Properties '
                                      'refuses such a file' % (lineno, '\\u' + digits))
            out.append(chr(int(digits, 16)))
            i += 4
        else:
            out.append({'t': '\t', 'n': '\n', 'r': '\r', 'f': '\f'}.get(char, char))
    joined = ''.join(out)
    # Java strings are UTF-16: a pair of \\u escapes may be one astral character.
    return joined.encode('utf-16-le', 'surrogatepass').decode('utf-16-le', 'surrogatepass')


def split_key_value(logical):
    """Return (raw_key, value_start) of a logical line, as Properties.load splits it."""
    key_end = len(logical)
    value_start = len(logical)
    has_sep = False
    backslash = False
    for idx, char in enumerate(logical):
        if not backslash and char in '=:':
            key_end, value_start, has_sep = idx, idx + 1, True
            break
        if not backslash and char in _WS:
            key_end, value_start = idx, idx + 1
            break
        backslash = (char == '\\') and not backslash
    while value_start < len(logical):
        char = logical[value_start]
        if char not in _WS:
            if not has_sep and char in '=:':
                has_sep = True
            else:
                break
        value_start += 1
    return logical[:key_end], value_start


def parse(text):
    """Parse ``text`` (a str, decoded as ISO-8859-1) into a list of :class:`Entry`."""
    lines = natural_lines(text)
    entries = []
    i = 0
    while i < len(lines):
        content, term = lines[i]
        lineno = i + 1
        stripped = content.lstrip(_WS)
        if stripped == '':
            entries.append(Entry('blank', content + term, terminator=term, lineno=lineno))
            i += 1
            continue
        if stripped[0] in '#!':
            # A comment line never continues, even when it ends in a backslash.
            entries.append(Entry('comment', content + term, terminator=term, lineno=lineno))
            i += 1
            continue
        raw = [content + term]
        first = stripped
        piece = stripped
        logical = stripped
        first_len = None
        open_ = False
        while _trailing_backslashes(piece) % 2 == 1:
            logical = logical[:-1]
            if first_len is None:
                first_len = len(logical)
            i += 1
            if i >= len(lines):
                open_ = True
                break
            content, term = lines[i]
            raw.append(content + term)
            piece = content.lstrip(_WS)
            logical += piece
        if first_len is None:
            first_len = len(logical)
        raw_key, value_start = split_key_value(logical)
        leading = raw[0][:len(raw[0]) - len(raw[0].lstrip(_WS))]
        if value_start <= first_len:
            prefix = leading + first[:value_start]
            if raw_key == logical[:value_start]:
                # No separator at all ("key" alone): add one before a value.
                prefix += '='
        else:
            prefix = None
        entries.append(Entry('property', ''.join(raw), key=unescape(raw_key, lineno),
                             value=unescape(logical[value_start:], lineno), prefix=prefix,
                             terminator=term, open_=open_, lineno=lineno))
        i += 1
    return entries


def render(entries):
    return ''.join(e.raw for e in entries)


def as_dict(entries):
    """What ``Properties.load`` ends up with: the last occurrence of a key wins."""
    values = {}
    for entry in entries:
        if entry.kind == 'property':
            values[entry.key] = entry.value
    return values


# ---------------------------------------------------------------- writing

def _escape_char(char):
    code = ord(char)
    if code < 0x20 or code > 0x7e:
        units = char.encode('utf-16-be', 'surrogatepass')
        return ''.join('\\u%04X' % int.from_bytes(units[j:j + 2], 'big')
                       for j in range(0, len(units), 2))
    return char


def escape_key(key):
    """Like ``Properties.store``: escape separators, whitespace, comment starters."""
    out = []
    for char in key:
        if char == '\\':
            out.append('\\\\')
        elif char in '\t\n\r\f':
            out.append({'\t': '\\t', '\n': '\\n', '\r': '\\r', '\f': '\\f'}[char])
        elif char in ' =:#!':
            out.append('\\' + char)
        else:
            out.append(_escape_char(char))
    return ''.join(out)


def escape_value(value):
    """Escape only what Properties.load needs: backslashes, control characters,
    non-ASCII, and a leading space, ``=`` or ``:`` (which would otherwise be taken as
    part of the separator). ``=``, ``:``, ``#`` and ``!`` inside a value stay readable
    (``http://host:8080`` rather than ``http\\://host\\:8080``)."""
    out = []
    for idx, char in enumerate(value):
        if char == '\\':
            out.append('\\\\')
        elif char in '\t\n\r\f':
            out.append({'\t': '\\t', '\n': '\\n', '\r': '\\r', '\f': '\\f'}[char])
        elif idx == 0 and char in ' =:':
            out.append('\\' + char)
        else:
            out.append(_escape_char(char))
    return ''.join(out)


def to_property_string(field, value, secret=False):
    """Ansible values -> the string Java will read. Booleans as Java prints them.
    A refused value is named by its type only when ``secret`` (never its content), and
    shortened otherwise."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value
    if secret:
        shown = 'a %s; the value of a secret key is not shown' % type(value).__name__
    else:
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + '...'
    raise ParamError('%s: must be a string, number, boolean or null (got %s)' % (field, shown))


def newline_of(entries):
    for entry in entries:
        if entry.terminator:
            return entry.terminator
    return '\n'


def plan(entries, properties, state='present'):
    """Pure: apply the wanted ``properties`` to ``entries``.

    ``properties`` maps key -> str (set) or None (remove); with ``state='absent'`` every
    named key is removed whatever its value. Returns (new_entries, changed_keys).

    A key that occurs several times is effective at its last occurrence (Java's rule):
    when its value must change, the last occurrence is rewritten in place and the
    earlier, shadowed duplicates are dropped so the file says one thing; when the
    effective value is already right nothing is touched.
    """
    current = as_dict(entries)
    result = list(entries)
    changed = []
    appended = []
    newline = newline_of(entries)
    for key, wanted in properties.items():
        if state == 'absent':
            wanted = None
        if wanted is None:
            if key in current:
                result = [e for e in result if not (e.kind == 'property' and e.key == key)]
                changed.append(key)
            continue
        if current.get(key) == wanted and key in current:
            continue
        changed.append(key)
        escaped = escape_value(wanted)
        positions = [i for i, e in enumerate(result) if e.kind == 'property' and e.key == key]
        if positions:
            last = result[positions[-1]]
            prefix = last.prefix if last.prefix is not None else escape_key(key) + '='
            result[positions[-1]] = Entry('property', prefix + escaped + last.terminator,
                                          key=key, value=wanted, prefix=prefix,
                                          terminator=last.terminator, open_=False,
                                          lineno=last.lineno)
            drop = set(positions[:-1])
            result = [e for i, e in enumerate(result) if i not in drop]
        else:
            prefix = escape_key(key) + '='
            appended.append(Entry('property', prefix + escaped + newline, key=key, value=wanted,
                                  prefix=prefix, terminator=newline))
    if appended:
        if result:
            tail = result[-1]
            if not tail.terminator:
                result[-1] = _with_terminator(tail, newline)
            if tail.kind == 'property' and tail.open:
                # A continuation backslash at end of file would swallow the next line:
                # an empty line ends it, exactly as Properties.load sees it.
                result.append(Entry('blank', newline, terminator=newline))
        result.extend(appended)
    return result, changed


def _with_terminator(entry, newline):
    return Entry(entry.kind, entry.raw + newline, key=entry.key, value=entry.value,
                 prefix=entry.prefix, terminator=newline, open_=entry.open, lineno=entry.lineno)


# ---------------------------------------------------------------- secrets

def is_secret_key(key, extra=()):
    """True for keys whose values must never be shown: the collection's one rule,
    :func:`module_utils.secrets.is_secret_name`, plus the ``extra`` keys."""
    return is_secret_name(key, tuple(extra))


def masked_text(entries, extra=()):
    """The file as text with every secret value replaced by ``********``."""
    out = []
    for entry in entries:
        if entry.kind == 'property' and is_secret_key(entry.key, extra):
            prefix = entry.prefix if entry.prefix is not None else escape_key(entry.key) + '='
            out.append(prefix + MASK + entry.terminator)
        else:
            out.append(entry.raw)
    return ''.join(out)


# ---------------------------------------------------------------- reading

def read_file(path):
    """Return the text (ISO-8859-1) of ``path`` or None when it does not exist."""
    try:
        with open(path, 'rb') as handle:
            data = handle.read()
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise
    return data.decode(ENCODING)
