# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The agent's ovs-host-setup check, as the agent runs it on ovs-vsctl's printed value."""

import pytest

from ansible_collections.cloudstack.ovs.plugins.module_utils.cloudstack_agent import (
    agent_considers_configured,
    agent_sees_setup,
    ovs_vsctl_string,
)


@pytest.mark.parametrize('value, printed', [
    ('5', '"5"'),
    ('5,-1', '"5,-1"'),
    ('-1', '"-1"'),
    ('', '""'),
    ('OVSTunnel', 'OVSTunnel'),
    ('OVSTunnel1001', 'OVSTunnel1001'),
    ('csdpdk-3', 'csdpdk-3'),
    ('1abc', '"1abc"'),
    ('a b', '"a b"'),
    ('True', 'True'),
    ('true', '"true"'),
    ('a"b', '"a\\"b"'),
])
def test_ovs_vsctl_string(value, printed):
    assert ovs_vsctl_string(value) == printed


@pytest.mark.parametrize('stored, host_id, configured', [
    (None, 5, False),         # no key: ovs-vsctl get fails, the agent sets up
    ('', 5, False),
    ('-1', 5, False),         # as the agent creates its bridges
    ('5', 5, False),          # printed "5": the only piece carries both quotes
    ('5,-1', 5, False),       # "5 and -1": the id carries a quote
    ('5,5,-1', 5, True),      # where CloudStack's own bridges settle
    ('7,5,-1', 5, True),
    ('5,7', 5, False),
    ('7,5,9', 5, True),
    ('7,50,-1', 5, False),
])
def test_agent_considers_configured(stored, host_id, configured):
    assert agent_considers_configured(stored, host_id) is configured


def test_agent_sees_setup_takes_first_line_trimmed():
    assert agent_sees_setup('  "1,5,-1"  \nignored\n', 5)
    assert not agent_sees_setup(None, 5)
    assert not agent_sees_setup('   ', 5)
