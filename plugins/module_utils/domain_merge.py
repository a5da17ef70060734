# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Merge ``extraconfig`` sections into (or take them out of) a libvirt domain XML.

Pure Python (standard library only), used by the ``vm_extraconfig`` module. What the KVM
agent appends as raw text is merged here element by element, so a second run changes
nothing: see plan_domain().
"""

import copy
import xml.etree.ElementTree as ET

from ansible_collections.cloudstack.ovs.plugins.module_utils.dpdk_vm import DPDK_INTERFACE_PREFIX
from ansible_collections.cloudstack.ovs.plugins.module_utils.extraconfig_codec import (
    KEY_PREFIX,
    ExtraConfigError,
    normalize_allow_list,
    validate_section_xml,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.safe_xml import (
    KNOWN_NAMESPACES,
    canonical_xml,
    parse_document,
    parse_fragment,
    pretty_xml,
    qualified_name,
    register_prefixes,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.validate import describe

# Root elements of a libvirt domain that may occur more than once; every other root
# element is single, so a section replaces it.
REPEATABLE_ROOT_ELEMENTS = ('seclabel',)


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
    root, prefixes = parse_document(domain_xml, error=ExtraConfigError)
    if root is None or root.tag != 'domain':
        raise ExtraConfigError('domain XML: the root element is not <domain> (got %s)'
                               % describe(None if root is None else root.tag))
    original = canonical_xml(domain_xml, ExtraConfigError)
    actions = []
    warnings = []
    for key, xml in details.items():
        if not isinstance(key, str) or not key.startswith(KEY_PREFIX):
            raise ExtraConfigError('extraconfig: keys must start with %s (got %s)' % (KEY_PREFIX, describe(key)))
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
    register_prefixes(prefixes)
    new_xml = ET.tostring(root, encoding='unicode')
    changed = canonical_xml(new_xml, ExtraConfigError) != original
    return dict(changed=changed, actions=actions if changed else [], warnings=warnings,
                before=pretty_xml(domain_xml, error=ExtraConfigError),
                after=pretty_xml(new_xml, error=ExtraConfigError), xml=new_xml)


def missing_sections(domain_xml, details):
    """Keys whose elements the domain does not hold (to verify what libvirt kept)."""
    root, _prefixes = parse_document(domain_xml, error=ExtraConfigError)
    missing = []
    for key, xml in details.items():
        elements, _stray, _p = parse_fragment(xml, key, ExtraConfigError)
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
