# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""OVS-DPDK as CloudStack's KVM agent uses it: vhost-user ports, guest interface XML,
the ``dpdk`` host capability, and CPU lists for the DPDK masks. Pure functions only.

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

from ansible_collections.cloudstack.ovs.plugins.module_utils.ovsdb_ops import (
    map_ops,
    plan_map,
    validate_choice,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.safe_xml import indent, parse_fragment
from ansible_collections.cloudstack.ovs.plugins.module_utils.validate import (
    ParamError,
    check_element_depth,
    validate_abs_path,
    validate_ifname,
)

PORT_PREFIX = 'csdpdk-'
MODES = ('server', 'client')
PORT_TYPES = {'server': 'dpdkvhostuser', 'client': 'dpdkvhostuserclient'}
GUEST_MODES = {'server': 'client', 'client': 'server'}
SERVER_PATH_OPTION = 'vhost-server-path'
DEFAULT_OVS_PATH = '/var/run/openvswitch'
VLAN_MIN, VLAN_MAX = 1, 4094

_PORT_RE = re.compile(r'^%s(\d+)$' % re.escape(PORT_PREFIX))
_MAC_RE = re.compile(r'^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$')


# ---------------------------------------------------------------- names and paths

def port_numbers(bridges):
    """The N of every ``csdpdk-N`` port on any bridge (``bridges`` as OvsdbSession.bridges())."""
    numbers = []
    for bridge in bridges.values():
        for pname in bridge.get('ports', {}):
            match = _PORT_RE.match(pname)
            if match:
                numbers.append(int(match.group(1)))
    return numbers


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
    """``<ovs path>/<port>``: where the vhost-user socket of a port lives."""
    return posixpath.join(validate_ovs_path('ovs_path', ovs_path), name)


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


# ---------------------------------------------------------------- the port

def desired_columns(mode, name, ovs_path, tag):
    """Port and Interface columns of a vhost-user port as CloudStack's agent creates it.

    Returns ``(port_columns, interface_type, interface_options)``; ``interface_options``
    maps ``vhost-server-path`` to a path (client mode) or to None (server mode: must be absent).
    """
    validate_choice('mode', mode, MODES)
    port_columns = {'tag': tag, 'vlan_mode': 'access' if tag is not None else None}
    if mode == 'client':
        options = {SERVER_PATH_OPTION: socket_path(ovs_path, name)}
    else:
        options = {SERVER_PATH_OPTION: None}
    return port_columns, PORT_TYPES[mode], options


def port_view(port, bridge):
    """What the diff shows of a vhost-user port."""
    if port is None:
        return {}
    iface = port['interfaces'].get(port['name']) or {}
    return dict(name=port['name'], bridge=bridge, tag=port.get('tag'),
                vlan_mode=port.get('vlan_mode'), type=iface.get('type'),
                options=dict(sorted((iface.get('options') or {}).items())),
                external_ids=dict(sorted((iface.get('external_ids') or {}).items())))


def find_port(bridges, name):
    """``(bridge_name, port)`` of the port called ``name`` on any bridge, or (None, None)."""
    for bname, bridge in bridges.items():
        port = bridge.get('ports', {}).get(name)
        if port is not None:
            return bname, port
    return None, None


def find_port_by_external_ids(bridge, external_ids):
    """A ``csdpdk-N`` port of ``bridge`` whose interface carries all of ``external_ids``."""
    if not external_ids:
        return None
    for pname in sorted(bridge.get('ports', {}), key=lambda n: (len(n), n)):
        if not _PORT_RE.match(pname):
            continue
        iface = bridge['ports'][pname]['interfaces'].get(pname) or {}
        have = iface.get('external_ids') or {}
        if all(have.get(k) == v for k, v in external_ids.items()):
            return pname
    return None


def check_dpdk_ready(open_vswitch, bridge_name, bridge):
    """Fail clearly when OVS cannot carry a vhost-user port on this bridge."""
    if bridge is None:
        raise ParamError('bridge: no such bridge %r (create it with cloudstack.ovs.ovs_bridge, '
                         'datapath_type netdev)' % (bridge_name,))
    if bridge['datapath_type'] != 'netdev':
        raise ParamError("bridge: %r has datapath_type %r; vhost-user ports need a userspace "
                         "(netdev) bridge" % (bridge_name, bridge['datapath_type']))
    if not open_vswitch.get('dpdk_initialized'):
        dpdk_init = (open_vswitch.get('other_config') or {}).get('dpdk-init', 'unset')
        raise ParamError('bridge: DPDK is not initialised in this ovs-vswitchd (dpdk_initialized '
                         'is false, other_config:dpdk-init is %s); vhost-user ports cannot be '
                         'created on %r (run the cloudstack.ovs.dpdk role)' % (dpdk_init, bridge_name))


def check_vhost_user(name, bridge, port):
    """Refuse to change or delete a port that is not a vhost-user port (the bridge's own
    internal port, a VM's tap, a tunnel ...): this module owns vhost-user ports only."""
    types = sorted(set((iface or {}).get('type') or 'system'
                       for iface in port['interfaces'].values())) or ['none']
    if any(t not in PORT_TYPES.values() for t in types):
        raise ParamError('name: port %r on bridge %r has interface type %s, not %s; this module '
                         'changes only vhost-user ports and will not retype or delete it (got %r)'
                         % (name, bridge, ', '.join(types),
                            ' or '.join(sorted(PORT_TYPES.values())), name))


def plan_dpdk_port(snapshot, bridge, name=None, mode='server', tag=None, ovs_path=DEFAULT_OVS_PATH,
                   state='present', external_ids=None):
    """Return ``(ops, name, before, after)`` for one vhost-user port.

    ``snapshot`` is ``OvsdbSession.snapshot()``. ``name`` None: the port on ``bridge`` whose
    interface has all of ``external_ids`` (when given), else the next free ``csdpdk-N``.
    """
    validate_choice('state', state, ('present', 'absent'))
    validate_choice('mode', mode, MODES)
    tag = validate_tag('tag', tag)
    ovs_path = validate_ovs_path('ovs_path', ovs_path)
    external_ids = dict((str(k), str(v)) for k, v in (external_ids or {}).items())
    bridges = snapshot['bridges']

    if state == 'absent':
        if name is None:
            raise ParamError('name: required with state=absent (got None)')
        validate_ifname('name', name)
        where, port = find_port(bridges, name)
        if port is None:
            return [], name, {}, {}
        if bridge is not None and where != bridge:
            raise ParamError('name: port %r is on bridge %r, not on %r' % (name, where, bridge))
        check_vhost_user(name, where, port)
        return [dict(op='del_port', bridge=where, port=name)], name, port_view(port, where), {}

    if bridge is None:
        raise ParamError('bridge: required with state=present (got None)')
    validate_ifname('bridge', bridge)
    current_bridge = bridges.get(bridge)
    check_dpdk_ready(snapshot['open_vswitch'], bridge, current_bridge)
    if name is None:
        name = find_port_by_external_ids(current_bridge, external_ids) or next_port_name(bridges)
    validate_ifname('name', name)
    where, port = find_port(bridges, name)
    if port is not None and where != bridge:
        raise ParamError('name: port %r already exists on bridge %r, not on %r'
                         % (name, where, bridge))
    if port is not None and (len(port['interfaces']) != 1 or name not in port['interfaces']):
        raise ParamError('name: port %r has interfaces %s; a vhost-user port has exactly one, '
                         'of the same name' % (name, ', '.join(sorted(port['interfaces']))))
    if port is not None:
        check_vhost_user(name, bridge, port)

    port_cols, iface_type, options = desired_columns(mode, name, ovs_path, tag)
    if port is None:
        add = dict(op='add_port', bridge=bridge, port=name,
                   port_columns=dict((k, v) for k, v in port_cols.items() if v is not None),
                   iface_columns=dict(type=iface_type))
        wanted_options = dict((k, v) for k, v in options.items() if v is not None)
        if wanted_options:
            add['iface_columns']['options'] = wanted_options
        if external_ids:
            add['iface_columns']['external_ids'] = external_ids
        after = dict(name=name, tag=port_cols['tag'], vlan_mode=port_cols['vlan_mode'],
                     interfaces={name: dict(type=iface_type, options=wanted_options,
                                            external_ids=external_ids)})
        return [add], name, {}, port_view(after, bridge)

    ops = []
    iface = port['interfaces'][name]
    after = dict(port, interfaces={name: dict(iface)})
    new_iface = after['interfaces'][name]
    for column in ('tag', 'vlan_mode'):
        if port.get(column) != port_cols[column]:
            if port_cols[column] is None:
                ops.append(dict(op='clear', table='Port', record=name, column=column))
            else:
                ops.append(dict(op='set', table='Port', record=name, column=column,
                                value=port_cols[column]))
            after[column] = port_cols[column]
    if iface['type'] != iface_type:
        ops.append(dict(op='set', table='Interface', record=name, column='type',
                        value=iface_type))
        new_iface['type'] = iface_type
    current_path = (iface.get('options') or {}).get(SERVER_PATH_OPTION)
    if current_path and options.get(SERVER_PATH_OPTION) and \
            posixpath.normpath(current_path) == options[SERVER_PATH_OPTION]:
        # The agent writes <dir>/ + /<port> ("...//csdpdk-3"): the same socket, kept as it is.
        options = dict(options, **{SERVER_PATH_OPTION: current_path})
    for column, wanted in (('options', options), ('external_ids', external_ids)):
        new_map, to_set, to_remove = plan_map(iface.get(column) or {}, wanted)
        ops.extend(map_ops('Interface', name, column, to_set, to_remove))
        new_iface[column] = new_map
    return ops, name, port_view(port, bridge), port_view(after, bridge)


# ---------------------------------------------------------------- the guest interface

def interface_element(path, guest_mode, mac=None, model='virtio', extra=None):
    """``<interface type='vhostuser'>`` for libvirt, as an ElementTree element.

    ``extra`` is a list of XML fragments (the values of ``extraconfig-dpdk-interface-*``).
    CloudStack's agent appends them as text after its own children; here an extra element
    whose tag the interface already has once (``model``, ``driver``, ``mtu`` ...) replaces it
    instead, so the result is a valid libvirt element either way.
    """
    validate_choice('guest_mode', guest_mode, ('client', 'server'))
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
