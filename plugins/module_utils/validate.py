# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Checks of parameters shared by every module: names, maps, paths, nesting depth.

Pure Python, standard library only. Every check raises ``ParamError`` (a ``ValueError``)
with a message that names the field and shows the value, before anything is read or
changed. Values are shown through ``describe``, which never recurses, so a hostile value
(a dict nested a thousand levels deep) gets a short message instead of a crash.
"""

from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import ParamError


# IFNAMSIZ is 16 on Linux including the NUL: 15 usable bytes. The kernel and OVS count bytes,
# not characters (a name in UTF-8 with 'ü' uses 2 bytes for it).
IFNAME_MAX = 15
# Deepest nesting accepted in XML fragments and structured values. libvirt domain XML is a
# handful of levels deep; the limit leaves room and keeps every recursive walk far from
# Python's recursion limit.
MAX_DEPTH = 32
SCALARS = (str, int, float, bool)
_IFNAME_BAD_CHARS = '/:'


def describe(value, limit=60):
    """A short, bounded ``repr`` of ``value`` for an error message (never recurses)."""
    if isinstance(value, (dict, list, tuple)):
        depth = data_depth(value, 3)
        if depth > 2:
            return 'a %s nested %s levels deep' % (
                type(value).__name__, 'more than 2' if depth > 3 else depth)
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + '...'


def data_depth(value, limit=MAX_DEPTH):
    """Nesting depth of dicts/lists in ``value`` (a scalar is 0), counted up to ``limit + 1``."""
    deepest = 0
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = list(item.values())
        elif isinstance(item, (list, tuple)):
            children = list(item)
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth) for child in children)
    return deepest


def element_depth(element, limit=MAX_DEPTH):
    """Depth of an ElementTree element (a leaf is 1), counted up to ``limit + 1``."""
    deepest = 0
    stack = [(element, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth + 1) for child in node)
    return deepest


def check_element_depth(field, elements, limit=MAX_DEPTH, error=ParamError):
    """Refuse XML nested deeper than ``limit`` elements; ``error`` is the exception raised."""
    for element in elements:
        if element_depth(element, limit) > limit:
            raise error('%s: XML nested more than %d elements deep is refused (<%s> ...)'
                        % (field, limit, element.tag))
    return elements


def check_data_depth(field, value, limit=MAX_DEPTH):
    if data_depth(value, limit) > limit:
        raise ParamError('%s: nested more than %d levels deep is refused (got %s)'
                         % (field, limit, describe(value)))
    return value


def check_text(field, value, what='a string'):
    """A string without NUL bytes (OVSDB, libvirt and the kernel end strings at a NUL)."""
    if not isinstance(value, str):
        raise ParamError('%s: must be %s (got %s)' % (field, what, describe(value)))
    if '\x00' in value:
        raise ParamError('%s: may not contain NUL bytes (got %s)' % (field, describe(value)))
    return value


def validate_ifname(field, value):
    """Raise ParamError unless ``value`` can be a Linux/OVS interface name.

    As the kernel checks it (``dev_valid_name``): at most 15 bytes in UTF-8, no NUL, no ``/``,
    no ``:``, no whitespace, not ``.`` or ``..``.
    """
    if not isinstance(value, str) or value == '':
        raise ParamError('%s: must be a non-empty name (got %s)' % (field, describe(value)))
    check_text(field, value)
    try:
        size = len(value.encode('utf-8'))
    except UnicodeEncodeError:
        raise ParamError('%s: is not valid UTF-8 text (got %s)' % (field, describe(value)))
    if size > IFNAME_MAX:
        raise ParamError('%s: %r is %d bytes long in UTF-8 (%d characters); interface names are '
                         'at most %d bytes' % (field, value, size, len(value), IFNAME_MAX))
    if any(ch.isspace() or ch in _IFNAME_BAD_CHARS for ch in value) or value in ('.', '..'):
        raise ParamError("%s: %r may not contain '/', ':' or whitespace, nor be '.' or '..'"
                         % (field, value))
    return value


def ovs_str(value):
    """OVSDB map values are strings; render YAML scalars the way ovs-vsctl users write them."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return str(value)


def normalize_map(field, value):
    """A dict of str -> str (``None`` values kept: they mean "remove this key").

    Keys are non-empty strings, values strings, numbers or booleans (stored as OVS strings);
    neither may hold a NUL byte. Nested values are refused naming the field and the key.
    """
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ParamError('%s: must be a dictionary (got %s)' % (field, describe(value)))
    out = {}
    for key, val in value.items():
        if not isinstance(key, str) or key == '':
            raise ParamError('%s: keys must be non-empty strings (got %s)' % (field, describe(key)))
        if '\x00' in key:
            raise ParamError('%s: key %s may not contain NUL bytes' % (field, describe(key)))
        if val is None:
            out[key] = None
            continue
        if not isinstance(val, SCALARS):
            raise ParamError('%s: the value of key %r must be a string, number or boolean, not a '
                             '%s (got %s)' % (field, key, type(val).__name__, describe(val)))
        out[key] = ovs_str(val)
        if '\x00' in out[key]:
            raise ParamError('%s: the value of key %r may not contain NUL bytes (got %s)'
                             % (field, key, describe(val)))
    return out


def validate_abs_path(field, value):
    """An absolute path without NUL bytes and without ``..`` components (not normalised away)."""
    if not isinstance(value, str) or not value.startswith('/'):
        raise ParamError('%s: must be an absolute directory (got %s)' % (field, describe(value)))
    check_text(field, value)
    if '..' in value.split('/'):
        raise ParamError("%s: may not contain '..' components; give the real directory "
                         "(got %s)" % (field, describe(value)))
    return value
