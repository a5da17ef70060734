# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""DPDK VMs in CloudStack: the ``extraconfig-dpdk-*`` sections, DPDK service offering
details, and which VMs are DPDK VMs and where they may live-migrate.

Pure Python (standard library only). Facts mirrored from Apache CloudStack (read, not
copied): on the KVM host every ``extraconfig*`` value except ``extraconfig-dpdk-interface-*``
is appended as raw text at the domain root; ``extraconfig-dpdk-numa`` makes the agent leave
out its own ``<cpu>``; ``extraconfig-dpdk-interface-*`` values are appended inside every
vhost-user ``<interface>``. A VM is a DPDK VM (``isVMDpdkEnabled``) when it runs on a host
with the ``dpdk`` capability and has both ``dpdk-numa`` and ``dpdk-hugepages`` details.
"""

import re

from ansible_collections.cloudstack.ovs.plugins.module_utils.dpdk import format_cpu_list
from ansible_collections.cloudstack.ovs.plugins.module_utils.extraconfig_codec import (
    KEY_PREFIX,
    ExtraConfigError,
    decode,
    detail_key,
    normalize_sections,
    url_encode,
    validate_section_xml,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.validate import describe

DPDK_NUMA = KEY_PREFIX + 'dpdk-numa'
DPDK_HUGE_PAGES = KEY_PREFIX + 'dpdk-hugepages'
DPDK_INTERFACE_PREFIX = KEY_PREFIX + 'dpdk-interface-'
DPDK_VHOST_USER_MODE = 'DPDK-VHOSTUSER'
VHOST_USER_MODES = ('server', 'client')


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
                               % (field, default_unit, describe(value)))
    match = _SIZE.match(str(value))
    if not match:
        raise ExtraConfigError('%s: must be a whole number with an optional unit (K, M, G, T; binary) '
                               '(got %s)' % (field, describe(value)))
    number, unit = int(match.group(1)), match.group(2).lower()
    if unit not in _UNITS:
        raise ExtraConfigError('%s: unknown unit %r; use KiB, MiB, GiB or TiB (got %s)'
                               % (field, match.group(2), describe(value)))
    factor = _UNITS[unit] or _UNITS[default_unit.lower()]
    total = number * factor
    if total <= 0 or total % 1024:
        raise ExtraConfigError('%s: must be a positive whole number of KiB (got %s)' % (field, describe(value)))
    return total // 1024


_CPUSET = re.compile(r'^\d+(-\d+)?(,\d+(-\d+)?)*$')


def cpuset(field, cpus=None, vcpus=None):
    """libvirt cpuset text from a list of CPU ids, a cpuset string or a vCPU count.

    A list is written in the kernel's notation by dpdk.format_cpu_list (``0-2,5``); a
    string is checked and kept as written (spaces removed).
    """
    if vcpus is not None:
        if cpus is not None:
            raise ExtraConfigError('%s: give either cpus or vcpus, not both (got %s and %s)'
                                   % (field, describe(cpus), describe(vcpus)))
        if isinstance(vcpus, bool) or not isinstance(vcpus, int) or vcpus < 1:
            raise ExtraConfigError('vcpus: must be a positive number of vCPUs (got %s)' % describe(vcpus))
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
                raise ExtraConfigError('%s: CPU ids must be whole numbers >= 0 (got %s)' % (field, describe(cpu)))
            ids.append(cpu)
        if not ids:
            raise ExtraConfigError('%s: names no CPU (got [])' % field)
        return format_cpu_list(ids)
    if isinstance(cpus, str):
        text = cpus.replace(' ', '')
        if not _CPUSET.match(text):
            raise ExtraConfigError('%s: must be a cpuset like "0", "0-3" or "0-1,4" (got %s)' % (field, describe(cpus)))
        for part in text.split(','):
            low, _sep, high = part.partition('-')
            if high and int(high) < int(low):
                raise ExtraConfigError('%s: range %s runs backwards (got %s)' % (field, part, describe(cpus)))
        return text
    raise ExtraConfigError('%s: must be a list of CPU ids or a cpuset like "0-3" (got %s)' % (field, describe(cpus)))


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
        raise ExtraConfigError('unit: must be KiB, MiB or GiB (got %s)' % describe(unit))
    kib = size_to_kib('memory', memory, default_unit=unit)
    cpu_text = cpuset('cpus', cpus, vcpus)
    if mode not in NUMA_CPU_MODES:
        raise ExtraConfigError('mode: must be one of %s (got %s)' % (', '.join(NUMA_CPU_MODES), describe(mode)))
    if isinstance(cell_id, bool) or not isinstance(cell_id, int) or cell_id < 0:
        raise ExtraConfigError('cell_id: must be a whole number >= 0 (got %s)' % describe(cell_id))
    if mem_access not in MEM_ACCESS:
        raise ExtraConfigError('mem_access: must be one of %s; vhost-user needs shared (got %s)'
                               % (', '.join(MEM_ACCESS), describe(mem_access)))
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
        items = [(detail_key(t, p), x)
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
                                   'value (got %s)' % describe(vhost_user_mode))
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
    raise ExtraConfigError('output: must be list, dict or cmk (got %s)' % describe(output))


# ---------------------------------------------------------------- DPDK VM rules

def _details(obj, *names):
    """A details mapping from a CloudStack API object (dict) or a plain mapping."""
    if obj is None:
        return {}
    if not isinstance(obj, dict):
        raise ExtraConfigError('%s: must be a dict (got %s)' % (names[0], describe(obj)))
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
        raise ExtraConfigError('%s: must be a dict or a list of dicts (got %s)' % (field, describe(items)))
    for item in items:
        if isinstance(item, dict) and ident is not None and item.get('id') == ident:
            return item
    return None


def is_dpdk_host(host):
    """CloudStack: a host is DPDK-enabled when its capabilities string contains ``dpdk``.

    This is the management server's view, from a listHosts entry (what the agent reported).
    dpdk.cloudstack_dpdk_capability() answers a different question, on the host itself:
    whether its agent.properties make the agent report that capability. Both are needed:
    one decides where DPDK VMs may run, the other checks a host's configuration.
    """
    if not isinstance(host, dict):
        raise ExtraConfigError('host: must be a dict from listHosts (got %s)' % describe(host))
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
        raise ExtraConfigError('vm: must be a dict from listVirtualMachines (got %s)' % describe(vm))
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
        raise ExtraConfigError("hosts: no host with id %s (the VM's hostid) was given" % describe(vm.get('hostid')))
    return is_dpdk_host(host)


def dpdk_migration_targets(vm, hosts, offerings=None):
    """Hosts a running VM may live-migrate to under CloudStack's DPDK rule.

    Other hosts of the source host's cluster that are Up and Enabled (when listHosts says
    so); for a DPDK VM only those whose capabilities contain ``dpdk``. A VM that is not
    running has no live-migration target: the result is empty.
    """
    if not isinstance(vm, dict):
        raise ExtraConfigError('vm: must be a dict from listVirtualMachines (got %s)' % describe(vm))
    if not isinstance(hosts, (list, tuple)):
        raise ExtraConfigError('hosts: must be the list of hosts from listHosts (got %s)' % describe(hosts))
    if vm.get('state') != 'Running':
        return []
    source = _find(hosts, vm.get('hostid'), 'hosts')
    if source is None:
        raise ExtraConfigError("hosts: no host with id %s (the VM's hostid) was given" % describe(vm.get('hostid')))
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
