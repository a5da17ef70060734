# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The dpdk role's filters: registration, documentation, Jinja use, errors."""


import pytest
from jinja2 import Environment, StrictUndefined

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudstack.ovs.plugins.filter import dpdk as filters

NAMES = ['cpu_list_to_mask', 'cpu_list_normalize', 'kernel_args_update']


@pytest.fixture(scope='module')
def env():
    environment = Environment(undefined=StrictUndefined)
    environment.filters.update(filters.FilterModule().filters())
    return environment


def test_registered():
    # their doc files: tests/unit/plugins/filter/test_filter_docs.py
    assert sorted(filters.FilterModule().filters()) == sorted(NAMES)


def test_cpu_list_to_mask_in_jinja(env):
    assert env.from_string("{{ '2,3,10-11' | cpu_list_to_mask }}").render() == '0xc0c'
    assert env.from_string("{{ cpus | cpu_list_to_mask(online, 'dpdk_pmd_cpus') }}").render(
        cpus='1', online='0-1') == '0x2'


def test_cpu_list_to_mask_error_names_variable_and_value(env):
    with pytest.raises(AnsibleFilterError) as err:
        env.from_string("{{ cpus | cpu_list_to_mask(online, 'dpdk_pmd_cpus') }}").render(
            cpus='2,3,10-11', online='0-1')
    assert str(err.value).startswith('dpdk_pmd_cpus: CPU 2-3,10-11 not online on this host '
                                     "(online: 0-1) (got '2,3,10-11')")
    with pytest.raises(AnsibleFilterError, match='^dpdk_lcore_cpus: .*x'):
        filters.cpu_list_to_mask('x', name='dpdk_lcore_cpus')


def test_cpu_list_normalize(env):
    assert env.from_string('{{ [11, 2, 3, 10] | cpu_list_normalize }}').render() == '2-3,10-11'
    with pytest.raises(AnsibleFilterError, match='^cpus: '):
        filters.cpu_list_normalize('3-1', name='cpus')


@pytest.mark.parametrize('cmdline,wanted,expected', [
    ('quiet splash', {'default_hugepagesz': '1G', 'hugepagesz': '1G', 'hugepages': 8},
     'quiet splash default_hugepagesz=1G hugepagesz=1G hugepages=8'),
    ('hugepagesz=2M hugepages=512 quiet hugepagesz=1G hugepages=4',
     {'hugepagesz': '1G', 'hugepages': 8}, 'quiet hugepagesz=1G hugepages=8'),
    ('quiet hugepages=8', {'hugepages': None}, 'quiet'),
    ('', {'hugepages': 2}, 'hugepages=2'),
    ('console="ttyS0,115200n8" quiet', {'hugepages': 2}, 'console="ttyS0,115200n8" quiet hugepages=2'),
])
def test_kernel_args_update(cmdline, wanted, expected):
    assert filters.kernel_args_update(cmdline, wanted) == expected
    # applying it twice changes nothing more
    assert filters.kernel_args_update(expected, wanted) == expected


def test_kernel_args_update_errors():
    with pytest.raises(AnsibleFilterError, match='value of hugepages must be one word'):
        filters.kernel_args_update('quiet', {'hugepages': '1 2'})
    with pytest.raises(AnsibleFilterError, match='must be a dictionary'):
        filters.kernel_args_update('quiet', ['hugepages'])
