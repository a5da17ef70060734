# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The extraconfig filters: registration, Jinja use, results and error wrapping."""


import pytest
from jinja2 import Environment, StrictUndefined

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudstack.ovs.plugins.filter import extraconfig as filters
from ansible_collections.cloudstack.ovs.plugins.module_utils import extraconfig_codec as ec
from ansible_collections.cloudstack.ovs.plugins.module_utils import dpdk_vm as dv
from ansible_collections.cloudstack.ovs.plugins.module_utils import safe_xml as sx

SEED = ('dpdk-hugepages%3A%0A%3CmemoryBacking%3E%0A%20%20%20%3Chugepages%3E%0A%20%20%20%20%3C%2Fhugepages%3E'
        '%0A%3C%2FmemoryBacking%3E%0A%0Adpdk-numa%3A%0A%3Ccpu%20mode%3D%22host-passthrough%22%3E%0A%20%20%20'
        '%3Cnuma%3E%0A%20%20%20%20%20%20%20%3Ccell%20id%3D%220%22%20cpus%3D%220%22%20memory%3D%229437184%22'
        '%20unit%3D%22KiB%22%20memAccess%3D%22shared%22%2F%3E%0A%20%20%20%3C%2Fnuma%3E%0A%3C%2Fcpu%3E%0A')
NAMES = ['extraconfig_encode', 'extraconfig_decode', 'dpdk_hugepages_xml', 'dpdk_numa_xml',
         'service_offering_details', 'is_dpdk_vm', 'dpdk_migration_targets']


@pytest.fixture(scope='module')
def env():
    environment = Environment(undefined=StrictUndefined)
    environment.filters.update(filters.FilterModule().filters())
    return environment


def render(env, template, **variables):
    return env.from_string(template).render(**variables)


def test_every_filter_is_registered():
    # their doc files: tests/unit/plugins/filter/test_filter_docs.py
    assert sorted(filters.FilterModule().filters()) == sorted(NAMES)


# ---------------------------------------------------------------- encode / decode

def test_decode_then_encode_the_seed_in_jinja(env):
    assert render(env, '{{ s | extraconfig_decode | extraconfig_encode }}', s=SEED) == SEED


def test_decode_gives_the_two_details(env):
    details = filters.extraconfig_decode(SEED)
    assert list(details) == ['extraconfig-dpdk-hugepages', 'extraconfig-dpdk-numa']
    assert render(env, "{{ (s | extraconfig_decode).keys() | list | join(',') }}", s=SEED) == \
        'extraconfig-dpdk-hugepages,extraconfig-dpdk-numa'


def test_encode_from_builders_in_jinja(env):
    out = render(env, "{{ {'dpdk-hugepages': none | dpdk_hugepages_xml,"
                      " 'dpdk-numa': 9216 | dpdk_numa_xml} | extraconfig_encode }}")
    decoded = ec.decode(out)
    assert sx.canonical_xml(decoded['extraconfig-dpdk-numa']) == sx.canonical_xml(
        ec.decode(SEED)['extraconfig-dpdk-numa'])
    assert out.startswith('dpdk-hugepages%3A%0A%3CmemoryBacking%3E')


def test_encode_options_pass_through():
    with pytest.raises(AnsibleFilterError, match=r"^extraconfig_encode: section 1 \(extraconfig-a\): top-level "
                                                 r"element <b> is not in the allowed elements \(a\)"):
        filters.extraconfig_encode({'a': '<b/>'}, allowed_elements=['a'])
    assert ec.java_url_decode(filters.extraconfig_encode({'a': "<b c='1'/>"}, validate=False)) == "a:\n<b c='1'/>"
    with pytest.raises(AnsibleFilterError, match=r'cloudstack_allow_list: .*VM start refuses <hugepages>'):
        filters.extraconfig_encode({'dpdk-hugepages': '<memoryBacking><hugepages/></memoryBacking>'},
                                   cloudstack_allow_list='memoryBacking')


def test_encode_error_names_the_input():
    with pytest.raises(AnsibleFilterError, match=r'^extraconfig_encode: _input: must be a mapping'):
        filters.extraconfig_encode(42)


def test_decode_options_pass_through():
    mixed = ec.url_encode('t:\n<a/>\n\nt:\n<b/>')
    assert filters.extraconfig_decode(mixed, validate=False) == {'extraconfig-t': '<b/>'}
    with pytest.raises(AnsibleFilterError, match=r'^extraconfig_decode: section 2 \(extraconfig-t\): duplicate key'):
        filters.extraconfig_decode(mixed)
    with pytest.raises(AnsibleFilterError, match=r'top-level element <cpu>'):
        filters.extraconfig_decode(SEED, allowed_elements='memoryBacking')


def test_decode_refuses_hostile_xml_fast():
    laughs = '<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">' + ''.join(
        '<!ENTITY a%d "%s">' % (i, '&a%s;' % ('' if i == 1 else i - 1) * 10) for i in range(1, 12)) + ']><l>&a11;</l>'
    with pytest.raises(AnsibleFilterError, match='no DTDs, entities or external references'):
        filters.extraconfig_decode(ec.url_encode(laughs))


def test_decode_refuses_malformed_escapes():
    with pytest.raises(AnsibleFilterError, match=r'^extraconfig_decode: extraconfig: illegal hex characters'):
        filters.extraconfig_decode('%G0')


# ---------------------------------------------------------------- builders

def test_hugepages_input_forms(env):
    assert render(env, '{{ none | dpdk_hugepages_xml }}') == '<memoryBacking>\n  <hugepages/>\n</memoryBacking>'
    assert filters.dpdk_hugepages_xml('') == filters.dpdk_hugepages_xml(None)
    assert 'size="2048"' in render(env, "{{ '2M' | dpdk_hugepages_xml }}")
    with pytest.raises(AnsibleFilterError, match=r"^dpdk_hugepages_xml: page_size: unknown unit 'Q'"):
        filters.dpdk_hugepages_xml('2Q')


def test_numa_in_jinja(env):
    out = render(env, "{{ '8G' | dpdk_numa_xml(vcpus=4, mode='host-model') }}")
    assert out == ('<cpu mode="host-model">\n  <numa>\n    <cell id="0" cpus="0-3" memory="8388608" unit="KiB" '
                   'memAccess="shared"/>\n  </numa>\n</cpu>')
    assert 'memory="1048576"' in render(env, "{{ 1 | dpdk_numa_xml(unit='GiB', cpus=[0, 1]) }}")


def test_numa_errors_are_filter_errors():
    with pytest.raises(AnsibleFilterError, match=r'^dpdk_numa_xml: cpus: give either cpus or vcpus'):
        filters.dpdk_numa_xml(1024, cpus='0', vcpus=1)
    with pytest.raises(AnsibleFilterError, match=r'^dpdk_numa_xml: memory: must be a positive'):
        filters.dpdk_numa_xml(0)


# ---------------------------------------------------------------- offering details

def test_offering_details_from_mapping(env):
    details = filters.service_offering_details({'dpdk-hugepages': '<memoryBacking><hugepages/></memoryBacking>',
                                                'dpdk-numa': dv.dpdk_numa_xml(9216)})
    assert details == [
        {'key': 'extraconfig-dpdk-hugepages', 'value': '%3CmemoryBacking%3E%3Chugepages%2F%3E%3C%2FmemoryBacking%3E'},
        {'key': 'extraconfig-dpdk-numa', 'value': ec.url_encode(dv.dpdk_numa_xml(9216))},
        {'key': 'DPDK-VHOSTUSER', 'value': 'server'},
    ]


def test_offering_details_from_encoded_string_and_cmk(env):
    args = render(env, "{{ s | service_offering_details(vhost_user_mode='CLIENT', output='cmk') | join(' ') }}",
                  s=SEED)
    assert args.split(' ')[-2:] == ['serviceofferingdetails[2].key=DPDK-VHOSTUSER',
                                    'serviceofferingdetails[2].value=client']
    assert 'serviceofferingdetails[0].key=extraconfig-dpdk-hugepages' in args


def test_offering_details_dict_and_no_mode():
    out = filters.service_offering_details({'dpdk-numa': '<cpu/>'}, vhost_user_mode=None, output='dict')
    assert out == {'extraconfig-dpdk-numa': '%3Ccpu%2F%3E'}


def test_offering_details_refuse_non_dpdk_keys():
    with pytest.raises(AnsibleFilterError, match=r'^service_offering_details: sections: extraconfig-1 is not '
                                                 r'accepted in service offering details'):
        filters.service_offering_details(['<cpu/>'])
    with pytest.raises(AnsibleFilterError, match=r'vhost_user_mode: must be server or client'):
        filters.service_offering_details({'dpdk-numa': '<cpu/>'}, vhost_user_mode=True)


# ---------------------------------------------------------------- DPDK VM rules

DETAILS = {'extraconfig-dpdk-numa': '<cpu/>', 'extraconfig-dpdk-hugepages': '<memoryBacking/>'}
HOSTS = [
    {'id': 'h1', 'name': 'kvm1', 'clusterid': 'c1', 'capabilities': 'hvm,snapshot,dpdk', 'state': 'Up',
     'resourcestate': 'Enabled'},
    {'id': 'h2', 'name': 'kvm2', 'clusterid': 'c1', 'capabilities': 'hvm,dpdk', 'state': 'Up',
     'resourcestate': 'Enabled'},
    {'id': 'h3', 'name': 'kvm3', 'clusterid': 'c1', 'capabilities': 'hvm', 'state': 'Up', 'resourcestate': 'Enabled'},
    {'id': 'h4', 'name': 'kvm4', 'clusterid': 'c2', 'capabilities': 'hvm,dpdk', 'state': 'Up',
     'resourcestate': 'Enabled'},
]
OFFERINGS = [{'id': 'o1', 'serviceofferingdetails': DETAILS}, {'id': 'o2', 'serviceofferingdetails': {}}]


def test_is_dpdk_vm_through_the_offering(env):
    vm = {'id': 'v', 'state': 'Running', 'hostid': 'h1', 'serviceofferingid': 'o1', 'details': {}}
    assert render(env, '{{ vm | is_dpdk_vm(hosts, offerings) }}', vm=vm, hosts=HOSTS, offerings=OFFERINGS) == 'True'
    vm['serviceofferingid'] = 'o2'
    assert filters.is_dpdk_vm(vm, HOSTS, OFFERINGS) is False
    vm['details'] = dict(DETAILS)
    assert filters.is_dpdk_vm(vm, HOSTS, OFFERINGS) is True
    vm['hostid'] = 'h3'
    assert filters.is_dpdk_vm(vm, HOSTS, OFFERINGS) is False
    vm.update(hostid='h1', state='Migrating')
    assert filters.is_dpdk_vm(vm, HOSTS, OFFERINGS) is False


def test_is_dpdk_vm_errors():
    with pytest.raises(AnsibleFilterError, match=r"^is_dpdk_vm: hosts: no host with id 'h1'"):
        filters.is_dpdk_vm({'state': 'Running', 'hostid': 'h1', 'details': DETAILS}, [])
    with pytest.raises(AnsibleFilterError, match=r'^is_dpdk_vm: offerings: must be a dict or a list'):
        filters.is_dpdk_vm({'state': 'Running', 'hostid': 'h1', 'details': {}}, HOSTS, 'o1')


def test_migration_targets_in_jinja(env):
    vm = {'id': 'v', 'state': 'Running', 'hostid': 'h1', 'serviceofferingid': 'o1', 'details': {}}
    names = render(env, "{{ vm | dpdk_migration_targets(hosts, offerings) | map(attribute='name') | join(',') }}",
                   vm=vm, hosts=HOSTS, offerings=OFFERINGS)
    assert names == 'kvm2'
    vm['serviceofferingid'] = 'o2'
    assert [h['name'] for h in filters.dpdk_migration_targets(vm, HOSTS, OFFERINGS)] == ['kvm2', 'kvm3']
    vm['state'] = 'Stopped'
    assert filters.dpdk_migration_targets(vm, HOSTS, OFFERINGS) == []


def test_migration_targets_errors():
    with pytest.raises(AnsibleFilterError, match=r'^dpdk_migration_targets: hosts: must be the list'):
        filters.dpdk_migration_targets({'state': 'Running', 'hostid': 'h1'}, None)
