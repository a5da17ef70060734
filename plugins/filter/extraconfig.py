# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Filters for CloudStack's VM extraconfig and its DPDK rules.

Each filter is documented in its own ``plugins/filter/<name>.yml``; the logic lives in
``module_utils/extraconfig_codec.py`` (the API string) and ``module_utils/dpdk_vm.py``
(DPDK sections, offerings and VM rules), shared with the ``vm_extraconfig`` module.
"""

from ansible_collections.cloudstack.ovs.plugins.module_utils import dpdk_vm
from ansible_collections.cloudstack.ovs.plugins.module_utils import extraconfig_codec as ec
from ansible_collections.cloudstack.ovs.plugins.plugin_utils.filter_errors import filter_errors


@filter_errors(named=True)
def extraconfig_encode(sections, validate=True, allowed_elements=None, cloudstack_allow_list=None):
    """Sections (mapping or list) -> the URL-encoded string for the extraconfig parameter."""
    return ec.encode(sections, validate=validate, allowed_elements=allowed_elements,
                     cloudstack_allow_list=cloudstack_allow_list, field='_input')


@filter_errors(named=True)
def extraconfig_decode(encoded, validate=True, allowed_elements=None):
    """The extraconfig string -> {detail key: XML} as CloudStack stores it."""
    return ec.decode(encoded, validate=validate, allowed_elements=allowed_elements)


@filter_errors(named=True)
def dpdk_hugepages_xml(page_size=None):
    """The dpdk-hugepages section XML; the input is the huge page size or none."""
    if page_size in ('', None):
        page_size = None
    return dpdk_vm.dpdk_hugepages_xml(page_size)


@filter_errors(named=True)
def dpdk_numa_xml(memory, cpus=None, vcpus=None, unit='MiB', mode='host-passthrough', cell_id=0,
                  mem_access='shared'):
    """The dpdk-numa section XML for the VM's memory and vCPUs."""
    return dpdk_vm.dpdk_numa_xml(memory, cpus=cpus, vcpus=vcpus, unit=unit, mode=mode, cell_id=cell_id,
                                 mem_access=mem_access)


@filter_errors(named=True)
def service_offering_details(sections, vhost_user_mode='server', validate=True, output='list'):
    """The serviceofferingdetails of createServiceOffering for a DPDK offering."""
    return dpdk_vm.service_offering_details(sections, vhost_user_mode=vhost_user_mode, validate=validate,
                                            output=output)


@filter_errors(named=True)
def is_dpdk_vm(vm, hosts=None, offerings=None):
    """CloudStack's rule: is this VM a DPDK VM?"""
    return dpdk_vm.is_dpdk_vm(vm, hosts, offerings)


@filter_errors(named=True)
def dpdk_migration_targets(vm, hosts, offerings=None):
    """The hosts a VM may live-migrate to under CloudStack's DPDK rule."""
    return dpdk_vm.dpdk_migration_targets(vm, hosts, offerings)


class FilterModule(object):
    """cloudstack.ovs extraconfig filters."""

    def filters(self):
        return {
            'extraconfig_encode': extraconfig_encode,
            'extraconfig_decode': extraconfig_decode,
            'dpdk_hugepages_xml': dpdk_hugepages_xml,
            'dpdk_numa_xml': dpdk_numa_xml,
            'service_offering_details': service_offering_details,
            'is_dpdk_vm': is_dpdk_vm,
            'dpdk_migration_targets': dpdk_migration_targets,
        }
