#!/usr/bin/python
# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)

DOCUMENTATION = r'''
module: vm_extraconfig
short_description: Put CloudStack extraconfig sections into a libvirt domain, or check that they are there
version_added: 0.1.0
description:
  - Merges CloudStack C(extraconfig) sections (the DPDK C(dpdk-hugepages), C(dpdk-numa) and
    C(dpdk-interface-*) ones, or any libvirt domain XML) into the persistent definition of a libvirt
    domain through libvirt-python, the way CloudStack's KVM agent puts them into the XML of the VMs it starts.
  - A section's elements go to the domain root. A root element that a domain has once (C(<cpu>),
    C(<memoryBacking>), C(<numatune>), ...) replaces the one there; C(<seclabel>) is added.
    A C(<devices>) section adds its devices to the domain's C(<devices>).
    C(extraconfig-dpdk-interface-*) content goes into every vhost-user C(<interface>), replacing a child of
    the same name.
  - The comparison is on canonical XML, and an element that already holds everything a section says counts
    as present (libvirt adds default attributes such as C(check) or C(migratable) to what it stores),
    so a second run reports no change.
  - The persistent definition is redefined in one C(defineXML) call (never in check mode). A running domain
    keeps running with its old definition; RV(restart_required) tells when the running domain differs.
  - B(CloudStack-managed VMs) are started by CloudStack from XML it generates at every start and migration,
    and are transient to libvirt. Changes made here to such a VM do not last; the persistent way is the VM's
    or the service offering's details (see the P(cloudstack.ovs.extraconfig_encode#filter) and
    P(cloudstack.ovs.service_offering_details#filter) filters). For a transient domain this module works in
    check mode only, to verify that a running CloudStack VM got its sections.
  - See docs/extraconfig.md for every CloudStack behaviour this collection mirrors or refuses.
author:
  - cloudstack.ovs contributors (@cloudstack-ovs)
requirements:
  - libvirt-python (Debian/Ubuntu package C(python3-libvirt)) on the host that runs the module
options:
  uri:
    description:
      - libvirt connection URI.
    type: str
    default: qemu:///system
  domain:
    description:
      - Name or UUID of the domain.
    type: str
    required: true
  extraconfig:
    description:
      - The sections. Either the URL-encoded string of CloudStack's C(extraconfig) parameter (decoded and split
        exactly as CloudStack does), or a mapping of detail key (C(extraconfig-dpdk-numa)) or bare title
        (C(dpdk-numa)) to XML, or a list of XML strings and C(title)/C(xml) dicts.
      - Every section must be well-formed XML; DTDs and entity declarations are refused; attribute values
        must be in double quotes; empty sections and duplicate keys are refused; XML nested more than 32
        elements deep is refused. Errors name the section.
      - Values of secret-named attributes (VNC/SPICE C(passwd), the collection's one secret-word list, see
        docs/agent_properties.md) are never shown - masked in the diff whatever the quoting, scrubbed from
        every return value and message. The option is kept out of the logged module arguments (syslog) and,
        when a section holds such an attribute, out of the returned C(invocation) too.
    type: raw
    required: true
  allowed_elements:
    description:
      - Top-level element names a section may hold, like CloudStack's
        C(allow.additional.vm.configuration.list.kvm). Namespaced names carry their prefix (C(qemu:commandline)).
      - Not given means any element.
    type: list
    elements: str
  state:
    description:
      - V(present) puts the sections in; V(absent) takes out the elements that match them (an element that
        differs from the section is not ours and stays).
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - cloudstack.ovs.attributes
attributes:
  check_mode:
    description: Reads the domain and reports what a real run would change; defines nothing.
  diff_mode:
    description: The domain XML before and after (passwords masked), shown as a unified diff.
notes:
  - Write values in libvirt's own form (for example memory in KiB); libvirt normalises what it stores,
    and an element it rewrites or drops (libvirt ignores unknown elements) is reported in RV(not_kept)
    with a warning; the next run would try again.
  - The C(qemu) prefix may be used in a section without declaring it.
seealso:
  - plugin: cloudstack.ovs.extraconfig_decode
    plugin_type: filter
  - plugin: cloudstack.ovs.dpdk_numa_xml
    plugin_type: filter
'''

EXAMPLES = r'''
- name: Give a (non-CloudStack) domain the DPDK memory and NUMA layout
  cloudstack.ovs.vm_extraconfig:
    domain: dpdk-guest
    extraconfig:
      dpdk-hugepages: "{{ none | cloudstack.ovs.dpdk_hugepages_xml }}"
      dpdk-numa: "{{ 4096 | cloudstack.ovs.dpdk_numa_xml(vcpus=2) }}"
      dpdk-interface-queues: '<driver queues="2"/>'
  register: result

- name: Tell when the domain must be restarted to use it
  ansible.builtin.debug:
    msg: "restart dpdk-guest"
  when: result.restart_required

- name: Apply the very string given to CloudStack, with CloudStack's allow-list
  cloudstack.ovs.vm_extraconfig:
    uri: qemu:///system
    domain: dpdk-guest
    extraconfig: "{{ extraconfig_string }}"
    allowed_elements: [memoryBacking, cpu]

- name: Verify that a running CloudStack VM got its DPDK sections (transient domain, check mode)
  cloudstack.ovs.vm_extraconfig:
    domain: i-2-10-VM
    extraconfig: "{{ vm_details | dict2items | selectattr('key', 'match', '^extraconfig-dpdk') | items2dict }}"
  check_mode: true
  register: check
  failed_when: check.changed

- name: Take the sections out again
  cloudstack.ovs.vm_extraconfig:
    domain: dpdk-guest
    extraconfig: "{{ extraconfig_string }}"
    state: absent
'''

RETURN = r'''
sections:
  description: The sections as detail key to XML (what CloudStack stores for them).
  returned: always
  type: dict
  sample: {extraconfig-dpdk-hugepages: "<memoryBacking>\n  <hugepages/>\n</memoryBacking>"}
actions:
  description: What was changed (in check mode, what would be), one line per element.
  returned: always
  type: list
  elements: str
  sample: ["replace <cpu> in domain root", "add <memoryBacking> to domain root"]
restart_required:
  description:
    - True when the domain is running and its running definition differs from the sections
      (also after an earlier run changed only the persistent definition).
  returned: always
  type: bool
persistent:
  description: Whether the domain is persistent (false for domains CloudStack starts).
  returned: always
  type: bool
not_kept:
  description:
    - Keys whose elements the stored definition does not hold after the run (in check mode, would not hold).
      Empty when everything is in place. Always empty with O(state=absent).
  returned: always
  type: list
  elements: str
diff:
  description: The domain XML before and after, passwords masked.
  returned: when diff mode is on
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudstack.ovs.plugins.module_utils.plan import run_module
from ansible_collections.cloudstack.ovs.plugins.module_utils.vm_extraconfig import (
    apply_extraconfig,
    extraconfig_request,
    libvirt_context,
    plan_extraconfig,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            uri=dict(type='str', default='qemu:///system'),
            domain=dict(type='str', required=True),
            # no_log: Ansible's "Invoked with" log line must not carry a VNC passwd a
            # section may hold; extraconfig_request narrows it so that sections without
            # secrets still show.
            extraconfig=dict(type='raw', required=True, no_log=True),
            allowed_elements=dict(type='list', elements='str'),
            state=dict(type='str', default='present', choices=['present', 'absent']),
        ),
        supports_check_mode=True,
    )
    # extraconfig_request checks everything before libvirt is asked: bad input fails the
    # same with or without libvirt.
    run_module(module, plan_extraconfig, apply_extraconfig,
               parse=lambda params: extraconfig_request(module, params),
               context=libvirt_context(module))


if __name__ == '__main__':
    main()
