# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""CloudStack's extraconfig format, DPDK rules and the libvirt merge (pure Python)."""

import pytest

from ansible_collections.cloudstack.ovs.plugins.module_utils import extraconfig_codec as ec
from ansible_collections.cloudstack.ovs.plugins.module_utils import dpdk_vm as dv
from ansible_collections.cloudstack.ovs.plugins.module_utils import domain_merge as dm
from ansible_collections.cloudstack.ovs.plugins.module_utils import safe_xml as sx
from ansible_collections.cloudstack.ovs.plugins.module_utils.extraconfig_codec import ExtraConfigError

# The example string of the issue (CloudStack's documented DPDK extraconfig).
SEED = ('dpdk-hugepages%3A%0A%3CmemoryBacking%3E%0A%20%20%20%3Chugepages%3E%0A%20%20%20%20%3C%2Fhugepages%3E'
        '%0A%3C%2FmemoryBacking%3E%0A%0Adpdk-numa%3A%0A%3Ccpu%20mode%3D%22host-passthrough%22%3E%0A%20%20%20'
        '%3Cnuma%3E%0A%20%20%20%20%20%20%20%3Ccell%20id%3D%220%22%20cpus%3D%220%22%20memory%3D%229437184%22'
        '%20unit%3D%22KiB%22%20memAccess%3D%22shared%22%2F%3E%0A%20%20%20%3C%2Fnuma%3E%0A%3C%2Fcpu%3E%0A')
SEED_HUGEPAGES = '<memoryBacking>\n   <hugepages>\n    </hugepages>\n</memoryBacking>'
SEED_NUMA = ('<cpu mode="host-passthrough">\n   <numa>\n       <cell id="0" cpus="0" memory="9437184" '
             'unit="KiB" memAccess="shared"/>\n   </numa>\n</cpu>\n')


# ---------------------------------------------------------------- the seed string

def test_seed_decodes_to_exactly_two_sections():
    details = ec.decode(SEED)
    assert list(details) == ['extraconfig-dpdk-hugepages', 'extraconfig-dpdk-numa']
    assert details['extraconfig-dpdk-hugepages'] == SEED_HUGEPAGES
    assert details['extraconfig-dpdk-numa'] == SEED_NUMA


def test_seed_encodes_back_byte_for_byte():
    assert ec.encode(ec.decode(SEED)) == SEED
    assert ec.encode({'dpdk-hugepages': SEED_HUGEPAGES, 'dpdk-numa': SEED_NUMA}) == SEED
    assert ec.encode([{'title': 'dpdk-hugepages', 'xml': SEED_HUGEPAGES},
                      {'key': 'extraconfig-dpdk-numa', 'value': SEED_NUMA}]) == SEED


# ---------------------------------------------------------------- Java URL decoding

@pytest.mark.parametrize('encoded, decoded', [
    ('a+b', 'a b'),                 # URLDecoder: + is a space
    ('a%2Bb', 'a+b'),
    ('%3Ca%2F%3E', '<a/>'),
    ('%c3%a9t%C3%A9', 'été'),       # lower-case hex and multi-byte UTF-8
    ('déjà', 'déjà'),               # characters that are not escaped pass through
    ('%+A', '\n'),                  # Integer.parseInt accepts a sign
    ('%-0', '\x00'),
    ('', ''),
])
def test_java_url_decode(encoded, decoded):
    assert ec.java_url_decode(encoded) == decoded


@pytest.mark.parametrize('encoded, why', [
    ('abc%2', 'incomplete trailing escape'),
    ('abc%', 'incomplete trailing escape'),
    ('%zz', 'illegal hex characters'),
    ('%-1', 'negative value'),
    ('%FF%FE', 'not UTF-8'),
])
def test_java_url_decode_refuses_malformed(encoded, why):
    with pytest.raises(ExtraConfigError, match=why) as err:
        ec.java_url_decode(encoded)
    assert str(err.value).startswith('extraconfig: ')


def test_java_url_decode_needs_a_string():
    with pytest.raises(ExtraConfigError, match=r'extraconfig: must be a string \(got 5\)'):
        ec.java_url_decode(5)


def test_url_encode_keeps_only_unreserved_characters():
    assert ec.url_encode('a b+c-d_e.f~g/h:é\n') == 'a%20b%2Bc-d_e.f~g%2Fh%3A%C3%A9%0A'
    text = '<cpu mode="host-passthrough"> + é\n'
    assert ec.java_url_decode(ec.url_encode(text)) == text


# ---------------------------------------------------------------- splitting as CloudStack does

@pytest.mark.parametrize('text, pieces', [
    ('a\n\nb', ['a', 'b']),
    ('a\n\nb\n\n', ['a', 'b']),            # trailing empty pieces dropped
    ('a\n\n\n\nb', ['a', '', 'b']),        # inner empty piece kept
    ('a\n\n\nb', ['a', '\nb']),
    ('\n\na', ['', 'a']),                  # leading empty piece kept
    ('', ['']),
    ('\n\n', []),
])
def test_java_split(text, pieces):
    assert ec.java_split(text, '\n\n') == pieces


def test_untitled_sections_are_numbered_by_position_among_all():
    sections = ec.split_sections('t:\n<a/>\n\n<b/>\n\n<c/>')
    assert [(s.key, s.value) for s in sections] == [
        ('extraconfig-t', '<a/>'), ('extraconfig-2', '<b/>'), ('extraconfig-3', '<c/>')]


def test_title_needs_its_own_line_without_whitespace():
    sections = ec.split_sections('my title:\n<a/>')
    assert sections[0].key == 'extraconfig-1'
    assert sections[0].value == 'my title:\n<a/>'
    with pytest.raises(ExtraConfigError, match=r'section 1 \(extraconfig-1\): text outside the XML'):
        ec.decode(ec.url_encode('my title:\n<a/>'))


def test_title_may_hold_colons_and_non_ascii_whitespace_counts_as_text():
    assert ec.split_sections('a:b:\n<a/>')[0].key == 'extraconfig-a:b'
    # Java's \S is ASCII-only: a no-break space is part of the title
    assert ec.split_sections('a\u00a0b:\n<a/>')[0].key == 'extraconfig-a\u00a0b'


def test_title_line_alone_becomes_the_value():
    # "t:" without a line break after it: CloudStack's replace finds nothing to cut
    sections = ec.split_sections('<a/>\n\nt:')
    assert (sections[1].key, sections[1].value) == ('extraconfig-t', 't:')


def test_every_title_line_is_cut_from_the_value():
    sections = ec.split_sections('t:\n<a>t:\n</a>')
    assert sections[0].value == '<a></a>'


def test_crlf_is_not_split_and_is_refused():
    text = 'a:\r\n<a/>\r\n\r\nb:\r\n<b/>'
    sections = ec.split_sections(text)
    assert [s.key for s in sections] == ['extraconfig-1']
    with pytest.raises(ExtraConfigError, match='carriage returns'):
        ec.decode(ec.url_encode(text))


def test_section_of_only_line_breaks_is_refused():
    with pytest.raises(ExtraConfigError, match='section 2 is only line breaks'):
        ec.split_sections('<a/>\n\n\n')


def test_duplicate_titles_last_wins_unvalidated_error_validated():
    text = ec.url_encode('t:\n<a/>\n\nt:\n<b/>')
    assert ec.decode(text, validate=False) == {'extraconfig-t': '<b/>'}
    why = r'section 2 \(extraconfig-t\): duplicate key extraconfig-t, also used by section 1'
    with pytest.raises(ExtraConfigError, match=why):
        ec.decode(text)


def test_number_title_collides_with_untitled_position():
    with pytest.raises(ExtraConfigError, match='duplicate key extraconfig-2'):
        ec.decode(ec.url_encode('2:\n<a/>\n\n<b/>'))


def test_empty_section_is_refused_naming_it():
    text = ec.url_encode('<a/>\n\n\n\n<b/>')
    assert ec.decode(text, validate=False) == {'extraconfig-1': '<a/>', 'extraconfig-2': '',
                                               'extraconfig-3': '<b/>'}
    with pytest.raises(ExtraConfigError, match=r"section 2 \(extraconfig-2\): is empty"):
        ec.decode(text)


# ---------------------------------------------------------------- XML validation

BILLION_LAUGHS = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + ''.join('<!ENTITY lol%d "%s">' % (i, ('&lol%d;' % (i - 1) if i > 1 else '&lol;') * 10)
                            for i in range(1, 10))
                  + ']><lolz>&lol9;</lolz>')


def test_billion_laughs_is_refused():
    with pytest.raises(ExtraConfigError, match=r'section 1 \(extraconfig-1\): markup declarations'):
        ec.decode(ec.url_encode(BILLION_LAUGHS))


@pytest.mark.parametrize('xml', [
    '<!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><a>&e;</a>',
    '<a/><!ENTITY e "x">',
    '<!DOCTYPE a SYSTEM "http://192.0.2.1/x.dtd"><a/>',
])
def test_dtds_and_entities_are_refused(xml):
    with pytest.raises(ExtraConfigError, match='no DTDs, entities or external references'):
        ec.validate_section_xml('extraconfig-x', xml)


def test_undefined_entity_is_not_well_formed():
    with pytest.raises(ExtraConfigError, match=r'extraconfig-x: not well-formed XML: undefined entity'):
        ec.validate_section_xml('extraconfig-x', '<a>&e;</a>')


def test_predefined_entities_comments_and_cdata_are_fine():
    elements = ec.validate_section_xml('k', '<!-- a comment with \'quotes\' --><a b="&amp;&lt;">'
                                            '<![CDATA[x=\'y\']]></a>')
    assert [e.tag for e in elements] == ['a']


@pytest.mark.parametrize('xml, why', [
    ('<a b=\'1\'/>', 'double quotes, not single quotes'),
    ('<a>\n  <b c = \'1\'/></a>', 'double quotes, not single quotes'),
    ('<a><b></a>', 'not well-formed XML: mismatched tag'),
    ('<?xml version="1.0"?><a/>', 'not well-formed XML'),
    ('<!-- only a comment -->', 'holds no XML element'),
    ('   \n ', 'is empty'),
    ('<a/> text', 'text outside the XML elements'),
])
def test_section_xml_errors_name_the_section(xml, why):
    with pytest.raises(ExtraConfigError, match=why) as err:
        ec.validate_section_xml('section 3 (extraconfig-x)', xml)
    assert str(err.value).startswith('section 3 (extraconfig-x): ')


def test_apostrophe_in_text_and_double_quoted_value_is_fine():
    ec.validate_section_xml('k', '<description>it\'s "fine"</description><a b="it\'s"/>')


def test_allow_list_checks_top_level_names_only():
    ec.validate_section_xml('k', '<cpu><numa/></cpu>', ['cpu'])
    with pytest.raises(ExtraConfigError, match=r'k: top-level element <memoryBacking> is not in the allowed '
                                               r'elements \(cpu\)'):
        ec.validate_section_xml('k', '<memoryBacking/>', ['cpu'])
    with pytest.raises(ExtraConfigError, match=r'allowed elements \(none\)'):
        ec.validate_section_xml('k', '<cpu/>', [])


def test_allow_list_as_cloudstack_comma_string():
    assert ec.normalize_allow_list('f', ' cpu, memoryBacking ,') == ['cpu', 'memoryBacking']
    with pytest.raises(ExtraConfigError, match=r'f: must be a list of element names \(got 5\)'):
        ec.normalize_allow_list('f', 5)


def test_qemu_prefix_works_undeclared_and_is_named_with_it():
    xml = '<qemu:commandline><qemu:arg value="-s"/></qemu:commandline>'
    elements = ec.validate_section_xml('k', xml, ['qemu:commandline'])
    assert elements[0].tag == '{%s}commandline' % sx.QEMU_NS
    with pytest.raises(ExtraConfigError, match='<qemu:commandline> is not in the allowed'):
        ec.validate_section_xml('k', xml, ['commandline'])


def test_decode_with_allowed_elements():
    assert ec.decode(SEED, allowed_elements=['memoryBacking', 'cpu'])
    with pytest.raises(ExtraConfigError, match=r'section 2 \(extraconfig-dpdk-numa\): top-level element <cpu>'):
        ec.decode(SEED, allowed_elements='memoryBacking')


# ---------------------------------------------------------------- CloudStack's own allow-list check

def test_cloudstack_allow_list_skipped_when_text_has_a_colon():
    assert ec.cloudstack_allow_list_violations('t:\n<cpu/>', '') == []


def test_cloudstack_allow_list_checks_every_depth():
    assert ec.cloudstack_allow_list_violations(SEED_HUGEPAGES, 'memoryBacking') == ['hugepages']
    assert ec.cloudstack_allow_list_violations(SEED_NUMA, ['cpu', 'numa', 'cell']) == []
    assert ec.cloudstack_allow_list_violations('<a><b/><b/><c/></a>', ['a']) == ['b', 'c']


def test_cloudstack_allow_list_parse_failure_is_an_error():
    with pytest.raises(ExtraConfigError, match='CloudStack allow-list check: not well-formed'):
        ec.cloudstack_allow_list_violations('<a>', ['a'])


def test_encode_with_cloudstack_allow_list_reports_vm_start_refusals():
    with pytest.raises(ExtraConfigError) as err:
        ec.encode({'dpdk-hugepages': SEED_HUGEPAGES, 'dpdk-numa': SEED_NUMA},
                  cloudstack_allow_list='memoryBacking,hugepages,cpu')
    message = str(err.value)
    assert 'deploy/update refuses' not in message      # the titles' ":" skip the deploy-time check
    assert 'extraconfig-dpdk-numa: VM start refuses <numa>, <cell>' in message
    assert 'extraconfig-dpdk-hugepages' not in message
    ok = ec.encode({'dpdk-hugepages': SEED_HUGEPAGES},
                   cloudstack_allow_list=['memoryBacking', 'hugepages'])
    assert ec.decode(ok) == {'extraconfig-dpdk-hugepages': SEED_HUGEPAGES}


def test_encode_with_cloudstack_allow_list_untitled_is_checked_at_deploy():
    with pytest.raises(ExtraConfigError, match=r'deploy/update refuses <b>'):
        ec.encode(['<a><b/></a>'], cloudstack_allow_list=['a'])


# ---------------------------------------------------------------- encoding

def test_encode_numbered_key_at_its_position_is_untitled():
    encoded = ec.encode({'extraconfig-1': '<a/>', 'extraconfig-x': '<b/>', 'extraconfig-7': '<c/>'})
    assert ec.java_url_decode(encoded) == '<a/>\n\nx:\n<b/>\n\n7:\n<c/>'
    assert list(ec.decode(encoded)) == ['extraconfig-1', 'extraconfig-x', 'extraconfig-7']


def test_encode_list_of_plain_strings_is_untitled():
    encoded = ec.encode(['<a/>', '<b/>'])
    assert ec.decode(encoded) == {'extraconfig-1': '<a/>', 'extraconfig-2': '<b/>'}


def test_encode_strips_block_scalar_line_breaks_but_last_keeps_one():
    encoded = ec.encode({'a': '<a/>\n', 'b': '\n<b/>\n'})
    assert ec.java_url_decode(encoded) == 'a:\n<a/>\n\nb:\n<b/>\n'


@pytest.mark.parametrize('sections, why', [
    ({'a': '<a/>\n\n<b/>'}, r'section 1 \(extraconfig-a\): contains an empty line'),
    ({'my title': '<a/>'}, r"key 'my title' gives the title 'my title'"),
    ({'extraconfig-': '<a/>'}, r"gives the title ''"),
    (['t:\n<a/>'], r'section 1 \(extraconfig-1\): its first line looks like a title'),
    ({'t': '<a>t:\n</a>'}, r'contains "t:" followed by a line break'),
    ({'a': 5}, r'section 1 must be a string of XML \(got 5\)'),
    ({}, r'holds no section'),
    ('<a/>', r'must be a mapping of keys to XML or a list'),
    ([5], r'extraconfig\[0\]: must be an XML string'),
    ({'a': '<a/>', 'extraconfig-a': '<b/>'}, r'duplicate key extraconfig-a'),
    ({'a': "<a b='1'/>"}, r'section 1 \(extraconfig-a\): attribute values must be in double quotes'),
    ({'a': '<a>'}, r'section 1 \(extraconfig-a\): not well-formed XML'),
])
def test_encode_refuses(sections, why):
    with pytest.raises(ExtraConfigError, match=why):
        ec.encode(sections)


def test_encode_refuses_more_than_the_api_takes():
    big = '<a b="%s"/>' % ('x' * 5200)
    with pytest.raises(ExtraConfigError, match=r'the encoded string is \d+ characters; CloudStack takes at most 5120'):
        ec.encode([big])
    assert len(ec.encode([big], validate=False)) > 5120


@pytest.mark.parametrize('mapping', [
    {'extraconfig-dpdk-hugepages': SEED_HUGEPAGES, 'extraconfig-dpdk-numa': SEED_NUMA},
    {'extraconfig-1': '<a>\n  <b c="1"/>\n</a>', 'extraconfig-t:x': '<qemu:commandline/>',
     'extraconfig-3': '<x>é + &amp;</x>'},
    {'extraconfig-dpdk-interface-a': '<driver queues="2"/>'},
])
def test_round_trip(mapping):
    assert ec.decode(ec.encode(mapping)) == mapping


# ---------------------------------------------------------------- DPDK builders

def _canon(xml):
    return sx.canonical_xml(xml)


def test_builders_match_the_seed_xml():
    assert _canon(dv.dpdk_hugepages_xml()) == _canon(SEED_HUGEPAGES)
    assert _canon(dv.dpdk_numa_xml(9216)) == _canon(SEED_NUMA)
    assert _canon(dv.dpdk_numa_xml('9G', cpus=[0])) == _canon(SEED_NUMA)
    assert _canon(dv.dpdk_numa_xml(9437184, unit='KiB', cpus='0')) == _canon(SEED_NUMA)


def test_hugepages_with_page_size():
    assert '<page size="1048576" unit="KiB"/>' in dv.dpdk_hugepages_xml('1G')
    assert '<page size="2048" unit="KiB"/>' in dv.dpdk_hugepages_xml(2048)


@pytest.mark.parametrize('kwargs, cpus', [
    (dict(vcpus=1), '0'),
    (dict(vcpus=4), '0-3'),
    (dict(cpus=[5, 0, 1, 2, 2]), '0-2,5'),
    (dict(cpus=3), '3'),
    (dict(cpus='0-1,4'), '0-1,4'),
    (dict(), '0'),
])
def test_numa_cpus(kwargs, cpus):
    assert 'cpus="%s"' % cpus in dv.dpdk_numa_xml(1024, **kwargs)


@pytest.mark.parametrize('kwargs, why', [
    (dict(memory=0), r'memory: must be a positive whole number of KiB \(got 0\)'),
    (dict(memory='9X'), r"memory: unknown unit 'X'"),
    (dict(memory='lots'), r'memory: must be a whole number with an optional unit'),
    (dict(memory=True), r'memory: must be a size'),
    (dict(memory='1000B'), r'memory: must be a positive whole number of KiB'),
    (dict(memory=1024, cpus=[0], vcpus=1), r'cpus: give either cpus or vcpus'),
    (dict(memory=1024, vcpus=0), r'vcpus: must be a positive number'),
    (dict(memory=1024, cpus='3-1'), r'cpus: range 3-1 runs backwards'),
    (dict(memory=1024, cpus='a'), r'cpus: must be a cpuset'),
    (dict(memory=1024, cpus=[-1]), r'cpus: CPU ids must be whole numbers'),
    (dict(memory=1024, cpus=[]), r'cpus: names no CPU'),
    (dict(memory=1024, mode='custom'), r'mode: must be one of host-passthrough, host-model'),
    (dict(memory=1024, mem_access='none'), r'mem_access: must be one of shared, private'),
    (dict(memory=1024, cell_id=-1), r'cell_id: must be a whole number'),
    (dict(memory=1024, unit='MB'), r'unit: must be KiB, MiB or GiB'),
])
def test_numa_refuses(kwargs, why):
    with pytest.raises(ExtraConfigError, match=why):
        dv.dpdk_numa_xml(**kwargs)


# ---------------------------------------------------------------- offering details

def test_offering_details_from_the_seed():
    details = dv.service_offering_details(SEED)
    assert [d['key'] for d in details] == ['extraconfig-dpdk-hugepages', 'extraconfig-dpdk-numa', 'DPDK-VHOSTUSER']
    assert ec.java_url_decode(details[0]['value']) == SEED_HUGEPAGES
    assert ec.java_url_decode(details[1]['value']) == SEED_NUMA.rstrip('\n')
    assert details[2]['value'] == 'server'


def test_offering_details_outputs():
    sections = {'dpdk-hugepages': dv.dpdk_hugepages_xml(), 'dpdk-interface-q': '<driver queues="2"/>'}
    as_dict = dv.service_offering_details(sections, vhost_user_mode='Client', output='dict')
    assert as_dict == {'extraconfig-dpdk-hugepages': ec.url_encode(dv.dpdk_hugepages_xml()),
                       'extraconfig-dpdk-interface-q': '%3Cdriver%20queues%3D%222%22%2F%3E',
                       'DPDK-VHOSTUSER': 'client'}
    cmk = dv.service_offering_details(sections, vhost_user_mode=None, output='cmk')
    assert cmk == ['serviceofferingdetails[0].key=extraconfig-dpdk-hugepages',
                   'serviceofferingdetails[0].value=' + ec.url_encode(dv.dpdk_hugepages_xml()),
                   'serviceofferingdetails[1].key=extraconfig-dpdk-interface-q',
                   'serviceofferingdetails[1].value=%3Cdriver%20queues%3D%222%22%2F%3E']


@pytest.mark.parametrize('sections, kwargs, why', [
    ({'my-cfg': '<a/>'}, {}, r'sections: extraconfig-my-cfg is not accepted in service offering details'),
    ({'dpdk-interface-': '<a/>'}, {}, r'extraconfig-dpdk-interface- is not accepted'),
    ({'dpdk-numa': '<cpu/>'}, dict(vhost_user_mode='both'), r'vhost_user_mode: must be server or client'),
    ({'dpdk-numa': '<cpu/>'}, dict(output='yaml'), r'output: must be list, dict or cmk'),
    ({'dpdk-numa': "<cpu mode='x'/>"}, {}, r'extraconfig-dpdk-numa: attribute values must be in double'),
])
def test_offering_details_refuses(sections, kwargs, why):
    with pytest.raises(ExtraConfigError, match=why):
        dv.service_offering_details(sections, **kwargs)


# ---------------------------------------------------------------- DPDK VM and migration rules

DPDK_DETAILS = {'extraconfig-dpdk-numa': SEED_NUMA, 'extraconfig-dpdk-hugepages': SEED_HUGEPAGES}


def vm(**kw):
    base = dict(id='vm1', state='Running', hostid='h1', serviceofferingid='o1', details=dict(DPDK_DETAILS))
    base.update(kw)
    return base


HOSTS = [
    dict(id='h1', clusterid='c1', capabilities='hvm,snapshot,dpdk', state='Up', resourcestate='Enabled',
         type='Routing'),
    dict(id='h2', clusterid='c1', capabilities='hvm,dpdk', state='Up', resourcestate='Enabled', type='Routing'),
    dict(id='h3', clusterid='c1', capabilities='hvm', state='Up', resourcestate='Enabled', type='Routing'),
    dict(id='h4', clusterid='c2', capabilities='hvm,dpdk', state='Up', resourcestate='Enabled', type='Routing'),
    dict(id='h5', clusterid='c1', capabilities='hvm,dpdk', state='Disconnected', resourcestate='Enabled'),
    dict(id='h6', clusterid='c1', capabilities='hvm,dpdk', state='Up', resourcestate='Maintenance'),
    dict(id='h7', clusterid='c1', capabilities='hvm,dpdk'),
]


def test_dpdk_vm_with_own_details():
    assert dv.is_dpdk_vm(vm(), HOSTS) is True
    assert dv.is_dpdk_vm(vm(), HOSTS[0]) is True


def test_dpdk_vm_details_split_between_vm_and_offering():
    offerings = [dict(id='o1', serviceofferingdetails={'extraconfig-dpdk-numa': 'x'})]
    split_vm = vm(details={'extraconfig-dpdk-hugepages': 'y'})
    assert dv.is_dpdk_vm(split_vm, HOSTS, offerings) is True
    assert dv.is_dpdk_vm(split_vm, HOSTS) is False
    assert dv.is_dpdk_vm(vm(details={}), HOSTS, dict(id='o1', serviceofferingdetails=DPDK_DETAILS)) is True


def test_dpdk_vm_details_as_key_value_list():
    listed = vm(details=[{'key': k, 'value': v} for k, v in DPDK_DETAILS.items()])
    assert dv.is_dpdk_vm(listed, HOSTS) is True


@pytest.mark.parametrize('kwargs', [
    dict(state='Stopped'),
    dict(hostid='h3'),                                  # host without the dpdk capability
    dict(details={'extraconfig-dpdk-numa': 'x'}),        # hugepages missing
    dict(type='DomainRouter'),
])
def test_not_dpdk_vm(kwargs):
    assert dv.is_dpdk_vm(vm(**kwargs), HOSTS) is False


def test_dpdk_capability_is_a_substring_match():
    # CloudStack tests capabilities.contains("dpdk"), so any capability naming dpdk counts
    assert dv.is_dpdk_host(dict(capabilities='hvm,nodpdk')) is True
    assert dv.is_dpdk_host(dict(capabilities=None)) is False
    assert dv.is_dpdk_host(dict(capabilities=['hvm', 'dpdk'])) is True


def test_dpdk_vm_errors():
    with pytest.raises(ExtraConfigError, match=r"hosts: no host with id 'h9'"):
        dv.is_dpdk_vm(vm(hostid='h9'), HOSTS)
    with pytest.raises(ExtraConfigError, match=r'vm: must be a dict'):
        dv.is_dpdk_vm('vm1', HOSTS)
    with pytest.raises(ExtraConfigError, match=r'host: must be a dict'):
        dv.is_dpdk_host('h1')


def test_migration_targets_of_a_dpdk_vm():
    assert [h['id'] for h in dv.dpdk_migration_targets(vm(), HOSTS)] == ['h2', 'h7']


def test_migration_targets_of_a_plain_vm_ignore_dpdk():
    assert [h['id'] for h in dv.dpdk_migration_targets(vm(details={}), HOSTS)] == ['h2', 'h3', 'h7']


def test_migration_targets_of_a_stopped_vm_are_empty():
    assert dv.dpdk_migration_targets(vm(state='Stopped', hostid=None), HOSTS) == []


def test_migration_targets_errors():
    with pytest.raises(ExtraConfigError, match=r'hosts: must be the list of hosts'):
        dv.dpdk_migration_targets(vm(), HOSTS[0])
    with pytest.raises(ExtraConfigError, match=r"hosts: no host with id 'h9'"):
        dv.dpdk_migration_targets(vm(hostid='h9'), HOSTS)


# ---------------------------------------------------------------- libvirt domain merge

DOMAIN = '''<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>i-2-10-VM</name>
  <memory unit='KiB'>9437184</memory>
  <vcpu placement='static'>1</vcpu>
  <cpu mode='host-model' check='partial'>
    <topology sockets='1' cores='1' threads='1'/>
  </cpu>
  <devices>
    <interface type='vhostuser'>
      <mac address='02:00:00:00:00:01'/>
      <source type='unix' path='/var/run/openvswitch/csdpdk-1' mode='client'/>
      <model type='virtio'/>
    </interface>
    <interface type='bridge'>
      <mac address='02:00:00:00:00:02'/>
      <source bridge='cloudbr0'/>
    </interface>
    <graphics type='vnc' port='-1' passwd='s3cret'/>
  </devices>
</domain>
'''


def test_merge_adds_sections_and_replaces_cpu():
    plan = dm.plan_domain(DOMAIN, DPDK_DETAILS)
    assert plan['changed'] is True
    assert plan['actions'] == ['replace <cpu> in domain root', 'add <memoryBacking> to domain root']
    root, _p = sx.parse_document(plan['xml'])
    cpus = root.findall('cpu')
    assert len(cpus) == 1 and cpus[0].get('mode') == 'host-passthrough'
    assert cpus[0].find('topology') is None
    assert root.find('memoryBacking/hugepages') is not None
    assert [c.tag for c in root].index('cpu') == 3          # replaced in place


def test_merge_is_idempotent_even_when_libvirt_adds_defaults():
    plan = dm.plan_domain(DOMAIN, DPDK_DETAILS)
    # libvirt writes defaults of its own into what it stores
    stored = plan['xml'].replace('mode="host-passthrough"', 'mode="host-passthrough" check="none" migratable="on"')
    again = dm.plan_domain(stored, DPDK_DETAILS)
    assert again['changed'] is False and again['actions'] == []
    assert dm.missing_sections(stored, DPDK_DETAILS) == []


def test_merge_absent_takes_sections_out():
    present = dm.plan_domain(DOMAIN, DPDK_DETAILS)['xml']
    plan = dm.plan_domain(present, DPDK_DETAILS, state='absent')
    assert plan['actions'] == ['remove <cpu> from domain root', 'remove <memoryBacking> from domain root']
    root, _p = sx.parse_document(plan['xml'])
    assert root.find('cpu') is None and root.find('memoryBacking') is None
    assert dm.plan_domain(plan['xml'], DPDK_DETAILS, state='absent')['changed'] is False
    assert dm.missing_sections(plan['xml'], DPDK_DETAILS) == list(DPDK_DETAILS)


def test_absent_leaves_an_element_that_differs():
    plan = dm.plan_domain(DOMAIN, {'extraconfig-dpdk-numa': SEED_NUMA}, state='absent')
    assert plan['changed'] is False      # the domain's own host-model <cpu> is not ours


def test_dpdk_interface_goes_into_vhost_user_interfaces_only():
    details = {'extraconfig-dpdk-interface-q': '<driver queues="2"/>\n<mtu size="9000"/>'}
    plan = dm.plan_domain(DOMAIN, details)
    assert plan['actions'] == ['add <driver> to vhost-user interface 02:00:00:00:00:01',
                               'add <mtu> to vhost-user interface 02:00:00:00:00:01']
    root, _p = sx.parse_document(plan['xml'])
    vhost, bridge = root.findall('devices/interface')
    assert vhost.find('driver').get('queues') == '2'
    assert bridge.find('driver') is None
    assert dm.plan_domain(plan['xml'], details)['changed'] is False
    removed = dm.plan_domain(plan['xml'], details, state='absent')
    assert sx.canonical_xml(removed['xml']) == sx.canonical_xml(DOMAIN)


def test_dpdk_interface_without_vhost_user_interface_warns():
    domain = DOMAIN.replace("type='vhostuser'", "type='network'")
    plan = dm.plan_domain(domain, {'extraconfig-dpdk-interface-q': '<driver queues="2"/>'})
    assert plan['changed'] is False
    assert plan['warnings'] == ['extraconfig-dpdk-interface-q: the domain has no vhost-user interface to put it into']


def test_devices_section_adds_devices_once():
    details = {'extraconfig-1': '<devices><watchdog model="i6300esb" action="reset"/></devices>'}
    plan = dm.plan_domain(DOMAIN, details)
    assert plan['actions'] == ['add <watchdog> to <devices>']
    assert dm.plan_domain(plan['xml'], details)['changed'] is False
    assert dm.plan_domain(plan['xml'], details, state='absent')['actions'] == ['remove <watchdog> from <devices>']


def test_repeatable_root_element_is_added_not_replaced():
    details = {'extraconfig-1': '<seclabel type="none" model="dac"/>'}
    with_one = dm.plan_domain(DOMAIN.replace('<devices>', '<seclabel type="dynamic" model="selinux"/><devices>'),
                              details)
    root, _p = sx.parse_document(with_one['xml'])
    assert len(root.findall('seclabel')) == 2


def test_qemu_commandline_section():
    details = {'extraconfig-1': '<qemu:commandline><qemu:arg value="-s"/></qemu:commandline>'}
    plan = dm.plan_domain(DOMAIN, details)
    assert plan['actions'] == ['add <qemu:commandline> to domain root']
    assert '<qemu:commandline>' in plan['xml'] and 'xmlns:qemu="%s"' % sx.QEMU_NS in plan['xml']
    assert dm.plan_domain(plan['xml'], details)['changed'] is False


def test_merge_checks_allowed_elements_and_keys():
    with pytest.raises(ExtraConfigError, match=r'extraconfig-dpdk-numa: top-level element <cpu> is not in'):
        dm.plan_domain(DOMAIN, DPDK_DETAILS, allowed_elements=['memoryBacking'])
    with pytest.raises(ExtraConfigError, match=r"extraconfig: keys must start with extraconfig- \(got 'x'\)"):
        dm.plan_domain(DOMAIN, {'x': '<a/>'})
    with pytest.raises(ExtraConfigError, match=r'the root element is not <domain>'):
        dm.plan_domain('<network/>', DPDK_DETAILS)
    with pytest.raises(ExtraConfigError, match=r'domain XML: markup declarations'):
        dm.plan_domain('<!DOCTYPE domain><domain/>', DPDK_DETAILS)


def test_canonical_xml_ignores_quotes_attribute_order_and_whitespace():
    assert sx.canonical_xml("<a x='1' y='2'>\n  <b/>\n</a>") == sx.canonical_xml('<a y="2" x="1"><b></b></a>')
    assert sx.canonical_xml('<a x="1"/>') != sx.canonical_xml('<a x="2"/>')


@pytest.mark.parametrize('attribute', [
    "passwd='vnc\"Pw7x'", 'passwd="vnc\'Pw7x"', "passwd='vnc&apos;Pw7x'", 'passwd="vnc&quot;Pw7x"',
    "passwd='Pw7x'", 'passwd="Pw7x"', "spice:password='Pw7x'",
])
def test_pretty_xml_masks_passwords_whatever_the_quotes(attribute):
    xml = ('<domain xmlns:spice="urn:x"><devices><graphics type="vnc" %s/>'
           '</devices></domain>' % attribute)
    text = sx.pretty_xml(xml)
    assert 'Pw7x' not in text and '"********"' in text, text
    assert 'Pw7x' in sx.pretty_xml(xml, mask_secrets=False)
    assert any('Pw7x' in v for v in sx.secret_values(xml))


def test_secret_values_of_sections_in_both_escapings():
    found = sx.secret_values('<graphics type="vnc" passwd="a\'b&quot;c"/>')
    assert {"a'b\"c", "a'b&quot;c", "a&apos;b\"c"} <= found
    assert sx.secret_values('<not xml') == set()
    assert sx.secret_values('<graphics type="vnc" port="-1"/>') == set()


def test_pretty_xml_masks_passwords():
    text = sx.pretty_xml(DOMAIN)
    assert 's3cret' not in text and "passwd=\"********\"" in text
    assert 's3cret' in sx.pretty_xml(DOMAIN, mask_secrets=False)
    assert 's3cret' in dm.plan_domain(DOMAIN, DPDK_DETAILS)['xml']          # what libvirt gets keeps it
    assert 's3cret' not in dm.plan_domain(DOMAIN, DPDK_DETAILS)['after']


# ---------------------------------------------------------------- nesting depth (issue 12)

DEEP = '<a>' * 1000 + '</a>' * 1000


def test_deep_section_refused_with_a_clear_error_not_a_recursion_error():
    message = r'XML nested more than 32 elements deep is refused \(<a> \.\.\.\)$'
    with pytest.raises(ExtraConfigError, match=r'^section: ' + message):
        ec.validate_section_xml('section', DEEP)
    with pytest.raises(ExtraConfigError, match=r'^section 1 \(extraconfig-1\): ' + message):
        ec.decode(DEEP)
    with pytest.raises(ExtraConfigError, match=r'^section 1 \(extraconfig-deep\): ' + message):
        ec.encode({'deep': DEEP})


def test_section_at_the_depth_limit_is_fine():
    ok = '<metadata>' + '<a>' * 31 + '</a>' * 31 + '</metadata>'
    assert len(ec.validate_section_xml('section', ok)) == 1


def test_deeply_nested_section_value_gets_a_short_message():
    value = 'x'
    for _level in range(900):
        value = {'k': value}
    with pytest.raises(ExtraConfigError, match=r'^extraconfig: section 1 must be a string of XML '
                                               r'\(got a dict nested more than 2 levels deep\)$'):
        ec.normalize_sections({'deep': value})
