# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""OVS-DPDK as CloudStack's KVM agent uses it: vhost-user port names and paths, guest
interface XML, the ``dpdk`` host capability, and CPU lists for the DPDK masks. Pure functions
only. The ``dpdk_port`` module's request and plan of one port are in ``dpdk_port.py``.

Facts taken from CloudStack's KVM agent (``DpdkDriverImpl``, ``OvsVifDriver``,
``LibvirtVMDef.InterfaceDef``, ``LibvirtComputingResource``):

* ports are named ``csdpdk-N``; the next one is the highest N among the switch's ports + 1;
* vHost user mode ``server`` (the default) -> OVS port type ``dpdkvhostuser`` and guest
  interface mode ``client``; ``client`` -> ``dpdkvhostuserclient`` with
  ``options:vhost-server-path=<ovs path>/<port>`` and guest interface mode ``server``;
* a VLAN is set (``vlan_mode=access tag=N``) only for 0 < N < 4095;
* the guest gets ``<interface type='vhostuser'>`` with ``<source type='unix'
  path='<ovs path>/<port>' mode='<guest mode>'/>``, its MAC, the NIC model and then the
  ``extraconfig-dpdk-interface-*`` text; no ``<link state>`` element;
* the host reports the ``dpdk`` capability when ``network.bridge.type`` is ``openvswitch``
  and ``openvswitch.dpdk.enabled`` is true in agent.properties.
"""

import posixpath
import re
import xml.etree.ElementTree as ET

from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import ParamError
from ansible_collections.cloudstack.ovs.plugins.module_utils.safe_xml import indent, parse_fragment
from ansible_collections.cloudstack.ovs.plugins.module_utils.validate import (
    check_element_depth,
    validate_abs_path,
)

PORT_PREFIX = 'csdpdk-'
MODES = ('server', 'client')
PORT_TYPES = {'server': 'dpdkvhostuser', 'client': 'dpdkvhostuserclient'}
GUEST_MODES = {'server': 'client', 'client': 'server'}
SERVER_PATH_OPTION = 'vhost-server-path'
DEFAULT_OVS_PATH = '/var/run/openvswitch'
VLAN_MIN, VLAN_MAX = 1, 4094

PORT_RE = re.compile(r'^%s(\d+)$' % re.escape(PORT_PREFIX))
_MAC_RE = re.compile(r'^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$')


# ---------------------------------------------------------------- names and paths

def _version_key(text):
    """A sort key close to GNU ``sort -V``: digit runs compare as numbers."""
    return [(0, int(part), '') if part.isdigit() else (1, 0, part)
            for part in re.findall(r'\d+|\D+', text)]


def next_port_name(bridges):
    """The name CloudStack's agent gives the next port (``DpdkDriverImpl.getNextDpdkPort``).

    The agent takes every port whose name contains ``csdpdk-`` on any bridge (``ovs-vsctl
    show | grep Port | grep csdpdk-``), the highest by version sort (``sort -rV``), the number
    after ``csdpdk-`` + 1; ``csdpdk-1`` when there is none. A highest name without a number
    there would make the agent fail; here it is skipped.
    """
    names = [pname for bridge in bridges.values() for pname in bridge.get('ports', {})
             if PORT_PREFIX in pname]
    for pname in sorted(names, key=_version_key, reverse=True):
        number = pname.split(PORT_PREFIX)[1]
        if number.isdigit():
            return '%s%d' % (PORT_PREFIX, int(number) + 1)
    return '%s1' % PORT_PREFIX


def validate_ovs_path(field, value):
    """The socket directory: absolute, without a trailing slash (the agent adds one itself).

    ``..`` components are refused, not normalised away: the path is what the agent is told.
    """
    validate_abs_path(field, value)
    if any(ch.isspace() for ch in value) or "'" in value or '"' in value:
        raise ParamError('%s: may not contain whitespace or quotes (got %r)' % (field, value))
    path = posixpath.normpath(value)
    return '/' + path.lstrip('/') if path != '/' else path


def socket_path(ovs_path, name):
    """``<ovs path>/<port>``: where the vhost-user socket of a port lives (``ovs_path`` as
    ``validate_ovs_path`` returns it)."""
    return posixpath.join(ovs_path, name)


def validate_tag(field, value):
    """A VLAN id for an access port, or None for an untagged port."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value).strip(), 10)
        except ValueError:
            raise ParamError('%s: must be a VLAN id from %d to %d (got %r)'
                             % (field, VLAN_MIN, VLAN_MAX, value))
    if not VLAN_MIN <= value <= VLAN_MAX:
        raise ParamError('%s: must be a VLAN id from %d to %d (got %r)'
                         % (field, VLAN_MIN, VLAN_MAX, value))
    return value


def validate_mac(field, value):
    if value is None:
        return None
    if not isinstance(value, str) or not _MAC_RE.match(value):
        raise ParamError('%s: must be a MAC address like 52:54:00:12:34:56 (got %r)'
                         % (field, value))
    return value.lower()


# ---------------------------------------------------------------- the guest interface

def interface_element(path, guest_mode, mac=None, model='virtio', extra=None):
    """``<interface type='vhostuser'>`` for libvirt, as an ElementTree element.

    ``extra`` is a list of XML fragments (the values of ``extraconfig-dpdk-interface-*``).
    CloudStack's agent appends them as text after its own children; here an extra element
    whose tag the interface already has once (``model``, ``driver``, ``mtu`` ...) replaces it
    instead, so the result is a valid libvirt element either way.
    """
    iface = ET.Element('interface', {'type': 'vhostuser'})
    ET.SubElement(iface, 'source', {'type': 'unix', 'path': path, 'mode': guest_mode})
    if mac:
        ET.SubElement(iface, 'mac', {'address': mac})
    if model:
        ET.SubElement(iface, 'model', {'type': model})
    for index, fragment in enumerate(extra or []):
        for element in parse_fragments('interface_extra[%d]' % index, fragment):
            same = [child for child in iface if child.tag == element.tag]
            if element.tag == 'source':
                raise ParamError('interface_extra[%d]: may not replace <source>; the port sets it '
                                 '(got %r)' % (index, fragment))
            if len(same) == 1:
                position = list(iface).index(same[0])
                iface.remove(same[0])
                iface.insert(position, element)
            else:
                iface.append(element)
    return iface


def parse_fragments(field, text):
    """Elements of an XML fragment (one or more sibling elements), parsed by the one safe
    XML parser (safe_xml.parse_fragment: no markup declarations)."""
    elements, stray, _prefixes = parse_fragment(text, field)
    if stray:
        raise ParamError('%s: text outside elements is not allowed (got %r)' % (field, text))
    return check_element_depth(field, elements)


def interface_xml(path, guest_mode, mac=None, model='virtio', extra=None):
    """The interface element as text, indented like ``virsh dumpxml``."""
    element = interface_element(path, guest_mode, mac, model, extra)
    indent(element)
    return ET.tostring(element, encoding='unicode').rstrip() + '\n'


# ---------------------------------------------------------------- the dpdk host capability

# commons-beanutils' BooleanConverter, which the agent's AgentPropertiesFileHandler uses.
_JAVA_TRUE = ('true', 'yes', 'y', 'on', '1')


def cloudstack_dpdk_capability(properties):
    """Whether the agent reports the ``dpdk`` capability, from agent.properties as a dict.

    The host-side question; dpdk_vm.is_dpdk_host() answers the management server's one
    (does a listHosts entry carry the capability the agent reported).

    The agent sets ``dpdkSupport`` when ``network.bridge.type`` is ``openvswitch`` (compared
    upper-cased, absent means ``native``) and ``openvswitch.dpdk.enabled`` converts to true;
    the capability is then sent with the host's other capabilities. Blank values count as
    absent. Returns a dict with ``capable`` and the reasons when not.
    """
    properties = properties or {}

    def value(key):
        raw = properties.get(key)
        return None if raw is None or not raw.strip() else raw

    bridge_type = value('network.bridge.type') or 'native'
    enabled_raw = value('openvswitch.dpdk.enabled')
    enabled = enabled_raw is not None and enabled_raw.lower() in _JAVA_TRUE
    ovs_path = value('openvswitch.dpdk.ovs.path')
    reasons = []
    if bridge_type.upper() != 'OPENVSWITCH':
        reasons.append('network.bridge.type is %s, not openvswitch' % bridge_type)
    if not enabled:
        reasons.append('openvswitch.dpdk.enabled is %s, not true'
                       % ('unset' if enabled_raw is None else enabled_raw))
    capable = not reasons
    warnings = []
    if capable and ovs_path is None:
        warnings.append('openvswitch.dpdk.ovs.path is unset: the agent reports dpdk but fails '
                        'to plug DPDK NICs ("no OVS path has been provided")')
    return dict(capable=capable, bridge_type=bridge_type, enabled=enabled, ovs_path=ovs_path,
                reasons=reasons, warnings=warnings)


# ---------------------------------------------------------------- CPU lists and masks

def parse_cpu_list(field, value):
    """``'2,3,10-11'`` (or a list of ints/strings) -> sorted list of CPU numbers."""
    if isinstance(value, (list, tuple)):
        items = [str(v) for v in value]
    elif isinstance(value, int) and not isinstance(value, bool):
        items = [str(value)]
    elif isinstance(value, str):
        items = value.split(',')
    else:
        raise ParamError('%s: must be a CPU list like "2,3,10-11" (got %r)' % (field, value))
    cpus = set()
    for item in items:
        item = item.strip()
        match = re.match(r'^(\d+)(?:-(\d+))?$', item)
        if not match:
            raise ParamError('%s: %r is not a CPU number or range like 10-11 (got %r)'
                             % (field, item, value))
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        if last < first:
            raise ParamError('%s: range %r runs backwards (got %r)' % (field, item, value))
        cpus.update(range(first, last + 1))
    if not cpus:
        raise ParamError('%s: names no CPU (got %r)' % (field, value))
    return sorted(cpus)


def format_cpu_list(cpus):
    """[0, 1, 2, 5] -> '0-2,5' (the kernel's own notation)."""
    ranges = []
    for cpu in sorted(set(cpus)):
        if ranges and cpu == ranges[-1][1] + 1:
            ranges[-1][1] = cpu
        else:
            ranges.append([cpu, cpu])
    return ','.join(str(first) if first == last else '%d-%d' % (first, last)
                    for first, last in ranges)


def cpu_list_to_mask(value, online=None, field='cpu list'):
    """A CPU list -> the hex mask OVS expects (``0xc0c`` for ``2,3,10-11``).

    ``online`` (a CPU list such as the host's /sys/devices/system/cpu/online) makes every
    CPU named in ``value`` be checked against it.
    """
    cpus = parse_cpu_list(field, value)
    if online is not None:
        available = set(parse_cpu_list(field + ' (host CPUs)', online))
        missing = [c for c in cpus if c not in available]
        if missing:
            raise ParamError('%s: CPU %s not online on this host (online: %s) (got %r)'
                             % (field, format_cpu_list(missing),
                                format_cpu_list(available), value))
    mask = 0
    for cpu in cpus:
        mask |= 1 << cpu
    return hex(mask)
