# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""cloudstack.ovs.vm_extraconfig on libvirt: the test driver for fast cases, a private libvirtd
(QEMU driver, defined domain, never started) for the real thing."""

import io
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stdout

import pytest

libvirt = pytest.importorskip('libvirt')

from conftest import run_module  # noqa: E402
from libvirt_fixtures import (  # noqa: E402,F401 pylint: disable=unused-import
    LINK, REPO, private_libvirtd)

from ansible.module_utils.testing import patch_module_args  # noqa: E402

from ansible_collections.cloudstack.ovs.plugins.module_utils import extraconfig_codec as ec  # noqa: E402
from ansible_collections.cloudstack.ovs.plugins.module_utils import dpdk_vm as dv  # noqa: E402
from ansible_collections.cloudstack.ovs.plugins.module_utils import domain_merge as dm  # noqa: E402
from ansible_collections.cloudstack.ovs.plugins.module_utils import safe_xml as sx  # noqa: E402
from ansible_collections.cloudstack.ovs.plugins.modules import vm_extraconfig  # noqa: E402

SEED = ('dpdk-hugepages%3A%0A%3CmemoryBacking%3E%0A%20%20%20%3Chugepages%3E%0A%20%20%20%20%3C%2Fhugepages%3E'
        '%0A%3C%2FmemoryBacking%3E%0A%0Adpdk-numa%3A%0A%3Ccpu%20mode%3D%22host-passthrough%22%3E%0A%20%20%20'
        '%3Cnuma%3E%0A%20%20%20%20%20%20%20%3Ccell%20id%3D%220%22%20cpus%3D%220%22%20memory%3D%2265536%22'
        '%20unit%3D%22KiB%22%20memAccess%3D%22shared%22%2F%3E%0A%20%20%20%3C%2Fnuma%3E%0A%3C%2Fcpu%3E%0A')
INACTIVE = libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE


# ---------------------------------------------------------------- test:///default, in process

def run_inproc(args, check_mode=False, diff=False):
    """Run the module in this process (so test:///default keeps its state between runs)."""
    payload = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    out = io.StringIO()
    with patch_module_args(payload), redirect_stdout(out):
        with pytest.raises(SystemExit):
            vm_extraconfig.main()
    return json.loads(out.getvalue())


@pytest.fixture
def test_conn():
    # Holding a connection keeps the process-wide default test driver (and its changes) alive.
    conn = libvirt.open('test:///default')
    yield conn
    conn.close()


def test_test_driver_running_domain_needs_restart(test_conn):
    args = dict(uri='test:///default', domain='test', extraconfig=SEED)
    first = run_inproc(args, diff=True)
    assert first['changed'] is True and first.get('failed') is not True
    assert first['actions'] == ['add <memoryBacking> to domain root', 'add <cpu> to domain root']
    assert first['restart_required'] is True and first['persistent'] is True
    assert '<hugepages' in first['diff']['after'] and '<hugepages' not in first['diff']['before']
    again = run_inproc(args)
    assert again['changed'] is False and again['actions'] == []
    assert again['restart_required'] is True          # still running with the old definition
    stored = test_conn.lookupByName('test').XMLDesc(INACTIVE)
    assert dm.missing_sections(stored, ec.decode(SEED)) == []


def test_test_driver_check_mode_changes_nothing(test_conn):
    before = test_conn.lookupByName('test').XMLDesc(INACTIVE)
    result = run_inproc(dict(uri='test:///default', domain='test',
                             extraconfig={'dpdk-numa': dv.dpdk_numa_xml(64, vcpus=2)}), check_mode=True)
    assert result['changed'] is True and result['actions'] == ['add <cpu> to domain root']
    assert test_conn.lookupByName('test').XMLDesc(INACTIVE) == before


def test_test_driver_transient_domain_verify_only(test_conn):
    xml = test_conn.lookupByName('test').XMLDesc(0).replace('<name>test</name>', '<name>transient1</name>')
    xml = xml.replace(xml[xml.index('<uuid>'):xml.index('</uuid>') + 7], '')
    dom = test_conn.createXML(xml, 0)
    try:
        args = dict(uri='test:///default', domain='transient1', extraconfig=SEED)
        refused = run_inproc(args)
        assert refused['failed'] is True
        assert refused['msg'].startswith('domain: transient1 is transient')
        checked = run_inproc(args, check_mode=True)
        assert checked['changed'] is True and checked['persistent'] is False
        assert checked['restart_required'] is False
    finally:
        dom.destroy()


def test_test_driver_errors_name_the_field(test_conn):
    missing = run_inproc(dict(uri='test:///default', domain='nope', extraconfig=SEED))
    assert missing['failed'] is True and missing['msg'] == 'domain: no domain named nope at test:///default'
    bad = run_inproc(dict(uri='test:///default', domain='test', extraconfig={'a': '<a b=\'1\'/>'}))
    assert bad['msg'].startswith('extraconfig: section 1 (extraconfig-a): attribute values must be in double')
    refused = run_inproc(dict(uri='test:///default', domain='test', extraconfig=SEED, allowed_elements=['cpu']))
    assert refused['msg'].startswith('extraconfig: section 1 (extraconfig-dpdk-hugepages): top-level element '
                                     '<memoryBacking> is not in the allowed elements (cpu)')
    uri = run_inproc(dict(uri='bogus:///x', domain='test', extraconfig=SEED))
    assert uri['msg'].startswith('uri: cannot connect to libvirt at bogus:///x')


def test_hostile_xml_is_refused_before_libvirt(test_conn):
    laughs = ('<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
              + ''.join('<!ENTITY a%d "%s">' % (i, ('&a%s;' % ('' if i == 1 else i - 1)) * 10) for i in range(1, 12))
              + ']><l>&a11;</l>')
    started = time.monotonic()
    result = run_inproc(dict(uri='test:///default', domain='test', extraconfig=[laughs]))
    elapsed = time.monotonic() - started
    assert result['failed'] is True
    assert result['msg'].startswith('extraconfig: section 1 (extraconfig-1): markup declarations')
    # Not a timed assertion on purpose (no speed targets in tests): just record it.
    print('billion laughs refused in %.4f s' % elapsed)


# ---------------------------------------------------------------- a real libvirtd (QEMU driver)

DOMAIN_XML = '''<domain type='qemu'>
  <name>{name}</name>
  <memory unit='KiB'>65536</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <interface type='vhostuser'>
      <mac address='52:54:00:00:70:01'/>
      <source type='unix' path='{base}/csdpdk-1' mode='client'/>
      <model type='virtio'/>
    </interface>
    <interface type='user'>
      <mac address='52:54:00:00:70:02'/>
      <model type='virtio'/>
    </interface>
    <graphics type='vnc' port='-1' passwd='n0tsecr'/>
  </devices>
</domain>'''


@pytest.fixture
def qemu_domain(private_libvirtd, request):
    conn = libvirt.open(private_libvirtd.uri)
    name = 'csovs-%d-%s' % (os.getpid(), request.node.name[-20:].replace('_', '-'))
    dom = conn.defineXML(DOMAIN_XML.format(name=name, base=private_libvirtd.base))
    try:
        yield conn, dom, name
    finally:
        dom.undefine()
        conn.close()


def test_qemu_present_absent_idempotent(private_libvirtd, qemu_domain):
    conn, dom, name = qemu_domain
    args = dict(uri=private_libvirtd.uri, domain=name, extraconfig=SEED)
    original = dom.XMLDesc(INACTIVE)
    assert "<cpu mode='custom'" in original       # the QEMU driver's own default <cpu>

    first = run_module('vm_extraconfig', args, diff=True)
    assert first.get('failed') is not True, first
    assert first['changed'] is True and first['restart_required'] is False and first['not_kept'] == []
    assert first['actions'] == ['add <memoryBacking> to domain root', 'replace <cpu> in domain root']
    assert 'n0tsecr' not in json.dumps(first['diff'])
    stored = dom.XMLDesc(INACTIVE)
    root, _p = sx.parse_document(stored)
    assert len(root.findall('cpu')) == 1 and root.find('cpu').get('mode') == 'host-passthrough'
    assert root.find('cpu/numa/cell').get('memAccess') == 'shared'
    assert root.find('memoryBacking/hugepages') is not None
    assert "passwd='n0tsecr'" in stored          # the redefinition kept the VNC password

    second = run_module('vm_extraconfig', args)
    assert second['changed'] is False and second['actions'] == []
    assert dom.XMLDesc(INACTIVE) == stored

    gone = run_module('vm_extraconfig', dict(args, state='absent'))
    assert gone['changed'] is True
    assert sorted(gone['actions']) == ['remove <cpu> from domain root', 'remove <memoryBacking> from domain root']
    root, _p = sx.parse_document(dom.XMLDesc(INACTIVE))
    assert root.find('memoryBacking') is None
    assert run_module('vm_extraconfig', dict(args, state='absent'))['changed'] is False


def test_qemu_dpdk_interface_goes_into_vhost_user_interface(private_libvirtd, qemu_domain):
    conn, dom, name = qemu_domain
    args = dict(uri=private_libvirtd.uri, domain=name,
                extraconfig={'extraconfig-dpdk-interface-q': '<driver queues="2"/>'})
    first = run_module('vm_extraconfig', args)
    assert first['changed'] is True, first
    assert first['actions'] == ['add <driver> to vhost-user interface 52:54:00:00:70:01']
    root, _p = sx.parse_document(dom.XMLDesc(INACTIVE))
    vhost, user = root.findall('devices/interface')
    assert vhost.find('driver').get('queues') == '2' and user.find('driver') is None
    assert run_module('vm_extraconfig', args)['changed'] is False


def test_qemu_check_mode_and_failures_leave_the_domain_alone(private_libvirtd, qemu_domain):
    conn, dom, name = qemu_domain
    before = dom.XMLDesc(INACTIVE)
    checked = run_module('vm_extraconfig', dict(uri=private_libvirtd.uri, domain=name, extraconfig=SEED),
                         check_mode=True, diff=True)
    assert checked['changed'] is True and checked['diff']['before'] != checked['diff']['after']
    refused = run_module('vm_extraconfig', dict(uri=private_libvirtd.uri, domain=name,
                                                extraconfig='dpdk-numa%3A%0A%3Ccpu%3E'))
    assert refused['failed'] is True
    assert refused['msg'].startswith('extraconfig: section 1 (extraconfig-dpdk-numa): not well-formed XML')
    assert dom.XMLDesc(INACTIVE) == before


def test_qemu_element_libvirt_drops_is_reported(private_libvirtd, qemu_domain):
    conn, dom, name = qemu_domain
    result = run_module('vm_extraconfig', dict(uri=private_libvirtd.uri, domain=name,
                                               extraconfig={'extraconfig-1': '<notlibvirt/>'}))
    assert result['not_kept'] == ['extraconfig-1']
    # ansible-core 2.19 returns warnings as structured events; older ones as strings
    assert 'extraconfig-1: libvirt did not keep' in json.dumps(result['warnings'])


def test_playbook_with_filters_and_module(private_libvirtd, qemu_domain):
    """The filters and the module by their FQCN in a real ansible-playbook run."""
    conn, dom, name = qemu_domain
    playbook = '''
- hosts: localhost
  gather_facts: false
  vars:
    sections:
      dpdk-hugepages: "{{ none | cloudstack.ovs.dpdk_hugepages_xml }}"
      dpdk-numa: "{{ 64 | cloudstack.ovs.dpdk_numa_xml }}"
  tasks:
    - set_fact:
        encoded: "{{ sections | cloudstack.ovs.extraconfig_encode }}"
        offering: "{{ sections | cloudstack.ovs.service_offering_details(output='dict') }}"
    - cloudstack.ovs.vm_extraconfig:
        uri: "%(uri)s"
        domain: "%(name)s"
        extraconfig: "{{ encoded | cloudstack.ovs.extraconfig_decode }}"
      register: applied
    - cloudstack.ovs.vm_extraconfig:
        uri: "%(uri)s"
        domain: "%(name)s"
        extraconfig: "{{ encoded }}"
      register: again
    - assert:
        that:
          - applied is changed
          - again is not changed
          - offering['DPDK-VHOSTUSER'] == 'server'
          - (offering['extraconfig-dpdk-numa'] | urldecode) == sections['dpdk-numa']
''' % dict(uri=private_libvirtd.uri, name=name)
    with tempfile.TemporaryDirectory(prefix='cs-ovs-pb-') as tmp:
        path = os.path.join(tmp, 'play.yml')
        with open(path, 'w') as handle:
            handle.write(playbook)
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=LINK, ANSIBLE_LOCAL_TEMP=tmp,
                   ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_NOCOLOR='1')
        proc = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
             path], env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
            timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:]
    root, _p = sx.parse_document(dom.XMLDesc(INACTIVE))
    assert root.find('memoryBacking/hugepages') is not None


def test_qemu_definition_libvirt_refuses_changes_nothing(private_libvirtd, qemu_domain):
    conn, dom, name = qemu_domain
    before = dom.XMLDesc(INACTIVE)
    result = run_module('vm_extraconfig', dict(uri=private_libvirtd.uri, domain=name,
                                               extraconfig={'extraconfig-1': '<vcpu>0</vcpu>'}))
    assert result['failed'] is True
    assert result['msg'].startswith('domain: libvirt refused the change to %s' % name), result['msg']
    assert dom.XMLDesc(INACTIVE) == before
