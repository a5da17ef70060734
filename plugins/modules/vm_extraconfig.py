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
        must be in double quotes; empty sections and duplicate keys are refused. Errors name the section.
      - Values of secret-named attributes (VNC/SPICE C(passwd), the collection's one secret-word list, see
        docs/agent_properties.md) are never shown - masked in the diff whatever the quoting, scrubbed from
        every return value and message. The option is kept out of the logged module arguments (syslog) and,
        when a section holds such an attribute, out of the returned C(invocation) too.
        must be in double quotes; empty sections and duplicate keys are refused; XML nested more than 32
        elements deep is refused. Errors name the section.
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
attributes:
  check_mode:
    support: full
    description: Reads the domain and reports what a real run would change; defines nothing.
  diff_mode:
    support: full
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

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.cloudstack.ovs.plugins.module_utils import domain_merge
from ansible_collections.cloudstack.ovs.plugins.module_utils import extraconfig_codec as ec
from ansible_collections.cloudstack.ovs.plugins.module_utils.safe_xml import secret_values
from ansible_collections.cloudstack.ovs.plugins.module_utils.secrets import narrow_no_log
from ansible_collections.cloudstack.ovs.plugins.module_utils.validate import (
    ParamError,
    check_data_depth,
    check_text,
)

LIBVIRT_IMPORT_ERROR = None
try:
    import libvirt
except ImportError:  # pragma: no cover - exercised through missing_required_lib
    libvirt = None
    LIBVIRT_IMPORT_ERROR = traceback.format_exc()


def sections_from_param(value, allowed):
    """The extraconfig option -> {key: xml}, validated (raises ExtraConfigError)."""
    if isinstance(value, str):
        return ec.decode(value, validate=True, allowed_elements=allowed)
    items = ec.normalize_sections(value, 'extraconfig')
    details = {}
    for position, (title, xml) in enumerate(items, start=1):
        key = ec.detail_key(title, position)
        if key in details:
            raise ec.ExtraConfigError('extraconfig: section %d (%s): duplicate key' % (position, key))
        details[key] = xml.strip('\n')
        ec.validate_section_xml('section %d (%s)' % (position, key), details[key], allowed)
    return details


def section_texts(value):
    """Every XML text the extraconfig option holds, as well as can be told before
    validation (for finding secrets; validation reports what is wrong)."""
    if isinstance(value, str):
        try:
            return list(ec.decode(value, validate=False).values()) + [value]
        except (ec.ExtraConfigError, ValueError, TypeError):
            return [value]
    if isinstance(value, dict):
        return [v for v in value.values() if isinstance(v, str)]
    if isinstance(value, list):
        texts = []
        for item in value:
            if isinstance(item, str):
                texts.append(item)
            elif isinstance(item, dict) and isinstance(item.get('xml'), str):
                texts.append(item['xml'])
        return texts
    return []


def field_message(exc):
    text = str(exc)
    if text.startswith(('extraconfig', 'allowed_elements:', 'domain')):
        return text
    return 'extraconfig: ' + text


def lookup_domain(conn, name):
    try:
        return conn.lookupByName(name)
    except libvirt.libvirtError:
        pass
    try:
        return conn.lookupByUUIDString(name)
    except libvirt.libvirtError:
        return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            uri=dict(type='str', default='qemu:///system'),
            domain=dict(type='str', required=True),
            # no_log: Ansible's "Invoked with" log line must not carry a VNC passwd a
            # section may hold; narrowed below so that sections without secrets still show.
            extraconfig=dict(type='raw', required=True, no_log=True),
            allowed_elements=dict(type='list', elements='str'),
            state=dict(type='str', default='present', choices=['present', 'absent']),
        ),
        supports_check_mode=True,
    )
    p = module.params
    # Bad input fails the same with or without libvirt: validate first (the option stays
    # hidden from the log until its secrets are known).
    try:
        check_text('uri', p['uri'])
        check_text('domain', p['domain'])
        check_data_depth('extraconfig', p['extraconfig'])
    except ParamError as exc:
        module.fail_json(msg=str(exc))
    secrets = set()
    for text in section_texts(p['extraconfig']):
        secrets |= secret_values(text)
    if secrets:
        # A section holds a password: the whole option stays hidden, and the password
        # wherever else it shows (sections, messages).
        module.no_log_values.update(secrets)
    else:
        narrow_no_log(module, 'extraconfig', ())

    try:
        allowed = ec.normalize_allow_list('allowed_elements', p['allowed_elements'])
        details = sections_from_param(p['extraconfig'], allowed)
    except ec.ExtraConfigError as exc:
        module.fail_json(msg=field_message(exc))

    if libvirt is None:
        module.fail_json(msg=missing_required_lib('libvirt-python'), exception=LIBVIRT_IMPORT_ERROR)

    try:
        conn = libvirt.open(p['uri'])
    except libvirt.libvirtError as exc:
        module.fail_json(msg='uri: cannot connect to libvirt at %s: %s' % (p['uri'], exc))
    try:
        result = run(module, conn, details, allowed)
    except ec.ExtraConfigError as exc:
        module.fail_json(msg=field_message(exc))
    except libvirt.libvirtError as exc:
        module.fail_json(msg='domain: libvirt refused the change to %s at %s: %s' % (p['domain'], p['uri'], exc))
    finally:
        conn.close()
    module.exit_json(**result)


def run(module, conn, details, allowed):
    p = module.params
    dom = lookup_domain(conn, p['domain'])
    if dom is None:
        module.fail_json(msg='domain: no domain named %s at %s' % (p['domain'], p['uri']))
    persistent = bool(dom.isPersistent())
    active = bool(dom.isActive())
    if not persistent and not module.check_mode:
        module.fail_json(msg='domain: %s is transient (CloudStack starts its VMs from XML it generates each time); '
                             'there is no persistent definition to change. Put the sections in the VM or service '
                             'offering details, or run in check mode to verify the running domain'
                         % p['domain'])
    secure = libvirt.VIR_DOMAIN_XML_SECURE
    # The persistent definition of a persistent domain; what runs for a transient one.
    current = dom.XMLDesc(secure | libvirt.VIR_DOMAIN_XML_INACTIVE) if persistent else dom.XMLDesc(secure)
    # The domain's own passwords (XML_SECURE shows them) stay out of every output too.
    module.no_log_values.update(secret_values(current))
    plan = domain_merge.plan_domain(current, details, p['state'], allowed)

    stored = plan['xml']
    if plan['changed'] and not module.check_mode:
        conn.defineXML(plan['xml'])
        stored = dom.XMLDesc(secure | libvirt.VIR_DOMAIN_XML_INACTIVE)
    not_kept = domain_merge.missing_sections(stored, details) if p['state'] == 'present' else []
    for key in not_kept:
        module.warn('%s: libvirt did not keep this section as given (unknown elements are dropped, values are '
                    'normalised); write it in the form libvirt stores' % key)
    for warning in plan['warnings']:
        module.warn(warning)

    restart_required = False
    if active:
        live = dom.XMLDesc(secure)
        missing_live = domain_merge.missing_sections(live, details)
        if p['state'] == 'present':
            restart_required = bool(set(missing_live) - set(not_kept))
        else:
            restart_required = len(missing_live) < len(details)
        if not persistent:
            restart_required = False

    result = dict(changed=plan['changed'], sections=details, actions=plan['actions'],
                  restart_required=restart_required, persistent=persistent, not_kept=not_kept)
    if module._diff:
        header = '%s (%s)' % (p['domain'], 'persistent definition' if persistent else 'running domain')
        result['diff'] = dict(before=plan['before'], after=plan['after'],
                              before_header=header, after_header=header)
    return result


if __name__ == '__main__':
    main()
