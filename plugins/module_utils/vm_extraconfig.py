# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The ``vm_extraconfig`` module's steps on the spine (``plan.run_module``), against libvirt.

- :func:`extraconfig_request` (parse): ``uri``, ``domain`` and ``extraconfig`` checked, the
  sections decoded and validated before libvirt is asked anything; a password a section holds
  is kept out of every output from here on.
- :func:`libvirt_context` (context): the libvirt connection, opened around plan and apply and
  closed after; an error libvirt raises on the way is the operator's, naming the domain.
- :func:`plan_extraconfig` (plan): the domain's definition read (the persistent one; the
  running one of a transient domain, in check mode only), the sections merged
  (``domain_merge.plan_domain``), what libvirt would keep and whether a restart is needed.
- :func:`apply_extraconfig` (apply): the merged XML defined, then what libvirt kept read back.
"""

import traceback
from contextlib import contextmanager

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.cloudstack.ovs.plugins.module_utils import domain_merge
from ansible_collections.cloudstack.ovs.plugins.module_utils import extraconfig_codec as ec
from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import ModuleError, ParamError
from ansible_collections.cloudstack.ovs.plugins.module_utils.plan import Plan
from ansible_collections.cloudstack.ovs.plugins.module_utils.safe_xml import secret_values
from ansible_collections.cloudstack.ovs.plugins.module_utils.secrets import narrow_no_log
from ansible_collections.cloudstack.ovs.plugins.module_utils.validate import (
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
            raise ec.ExtraConfigError('extraconfig: section %d (%s): duplicate key'
                                      % (position, key))
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


def extraconfig_request(module, params):
    """The parameters checked once (bad input fails the same with or without libvirt), with
    ``allowed`` (the allow list) and ``details`` (the sections, key -> XML) added."""
    check_text('uri', params['uri'])
    check_text('domain', params['domain'])
    check_data_depth('extraconfig', params['extraconfig'])
    # extraconfig is no_log in the argument spec until its secrets are known.
    secrets = set()
    for text in section_texts(params['extraconfig']):
        secrets |= secret_values(text)
    if secrets:
        # A section holds a password: the whole option stays hidden, and the password
        # wherever else it shows (sections, messages).
        module.no_log_values.update(secrets)
    else:
        narrow_no_log(module, 'extraconfig', ())
    try:
        allowed = ec.normalize_allow_list('allowed_elements', params['allowed_elements'])
        details = sections_from_param(params['extraconfig'], allowed)
    except ec.ExtraConfigError as exc:
        raise ParamError(field_message(exc))
    return dict(params, allowed=allowed, details=details)


class DomainContext(object):
    """What plan and apply share: the module, the open connection, whether checking."""

    def __init__(self, module, conn, check_mode):
        self.module = module
        self.conn = conn
        self.check_mode = check_mode


def libvirt_context(module):
    """The ``context`` factory of ``vm_extraconfig``: a libvirt connection to ``uri``."""
    @contextmanager
    def context():
        if libvirt is None:
            raise ModuleError(missing_required_lib('libvirt-python'),
                              detail=LIBVIRT_IMPORT_ERROR)
        uri = module.params['uri']
        try:
            conn = libvirt.open(uri)
        except libvirt.libvirtError as exc:
            raise ParamError('uri: cannot connect to libvirt at %s: %s' % (uri, exc))
        try:
            yield DomainContext(module, conn, module.check_mode)
        except libvirt.libvirtError as exc:
            raise ModuleError('domain: libvirt refused the change to %s at %s: %s'
                              % (module.params['domain'], uri, exc), field='domain')
        finally:
            conn.close()
    return context


def lookup_domain(conn, name):
    try:
        return conn.lookupByName(name)
    except libvirt.libvirtError:
        pass
    try:
        return conn.lookupByUUIDString(name)
    except libvirt.libvirtError:
        return None


def not_kept_warnings(not_kept):
    return ['%s: libvirt did not keep this section as given (unknown elements are dropped, '
            'values are normalised); write it in the form libvirt stores' % key
            for key in not_kept]


def outcome(dom, request, stored, persistent, active):
    """``not_kept`` (keys the stored definition does not hold) and ``restart_required`` (the
    running definition differs from the sections), from the stored XML ``stored``."""
    details = request['details']
    present = request['state'] == 'present'
    not_kept = domain_merge.missing_sections(stored, details) if present else []
    restart_required = False
    if active and persistent:
        missing_live = domain_merge.missing_sections(
            dom.XMLDesc(libvirt.VIR_DOMAIN_XML_SECURE), details)
        if present:
            restart_required = bool(set(missing_live) - set(not_kept))
        else:
            restart_required = len(missing_live) < len(details)
    return dict(not_kept=not_kept, restart_required=restart_required)


def plan_extraconfig(ctx, request):
    """The ``Plan``: one ``define`` op with the merged XML when it differs."""
    domain, uri = request['domain'], request['uri']
    dom = lookup_domain(ctx.conn, domain)
    if dom is None:
        raise ParamError('domain: no domain named %s at %s' % (domain, uri))
    persistent = bool(dom.isPersistent())
    active = bool(dom.isActive())
    if not persistent and not ctx.check_mode:
        raise ParamError(
            'domain: %s is transient (CloudStack starts its VMs from XML it generates each '
            'time); there is no persistent definition to change. Put the sections in the VM or '
            'service offering details, or run in check mode to verify the running domain'
            % domain)
    secure = libvirt.VIR_DOMAIN_XML_SECURE
    # The persistent definition of a persistent domain; what runs for a transient one.
    current = (dom.XMLDesc(secure | libvirt.VIR_DOMAIN_XML_INACTIVE) if persistent
               else dom.XMLDesc(secure))
    # The domain's own passwords (XML_SECURE shows them) stay out of every output too.
    ctx.module.no_log_values.update(secret_values(current))
    try:
        merged = domain_merge.plan_domain(current, request['details'], request['state'],
                                          request['allowed'])
    except ec.ExtraConfigError as exc:
        raise ParamError(field_message(exc))

    found = outcome(dom, request, merged['xml'], persistent, active)
    ops = []
    if merged['changed']:
        ops.append(dict(op='define', xml=merged['xml'], dom=dom, request=request,
                        persistent=persistent, active=active, warnings=merged['warnings']))
    header = '%s (%s)' % (domain, 'persistent definition' if persistent else 'running domain')
    return Plan(ops, actions=merged['actions'],
                warnings=not_kept_warnings(found['not_kept']) + merged['warnings'],
                result=dict(found, sections=request['details'], persistent=persistent),
                diff=dict(before=merged['before'], after=merged['after'],
                          before_header=header, after_header=header))


def apply_extraconfig(ctx, planned):
    """Define the merged XML; what libvirt kept of it replaces what the plan expected
    (``not_kept``, ``restart_required`` and the warnings about sections not kept)."""
    (op,) = planned.ops
    ctx.conn.defineXML(op['xml'])
    stored = op['dom'].XMLDesc(libvirt.VIR_DOMAIN_XML_SECURE | libvirt.VIR_DOMAIN_XML_INACTIVE)
    found = outcome(op['dom'], op['request'], stored, op['persistent'], op['active'])
    planned.warnings = not_kept_warnings(found['not_kept']) + op['warnings']
    return found
