# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""gre_network's action with mesh_var: the host's networks from the checked mesh, in Python; what
it refuses, naming mesh_var, before the module runs."""

import pytest

from ansible.errors import AnsibleActionFail
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.cloudstack.ovs.plugins.action.gre_network import ActionModule
from ansible_collections.cloudstack.ovs.plugins.filter.gre_mesh import (
    gre_mesh_checked,
    gre_mesh_networks,
)

HOSTVARS = {
    'kvm1': dict(cloudstack_host_id=1, cloudstack_underlay_ip='192.0.2.11',
                 cloudstack_gre_networks=[1001, 1002]),
    'kvm2': dict(cloudstack_host_id=2, cloudstack_underlay_ip='192.0.2.12',
                 cloudstack_gre_networks=[1001]),
    'kvm3': dict(cloudstack_host_id=3, cloudstack_underlay_ip='192.0.2.13',
                 cloudstack_gre_networks=[]),
}
MEMBERS = ['kvm1', 'kvm2', 'kvm3']


def action(variables):
    """The action's mesh_var step alone, with a real Templar over ``variables``."""
    act = ActionModule.__new__(ActionModule)
    act._templar = Templar(loader=DataLoader(), variables=variables)
    return act


def test_networks_from_the_checked_mesh_by_name():
    checked = gre_mesh_checked(HOSTVARS, MEMBERS, MEMBERS)
    for name in MEMBERS:
        task_vars = dict(mesh=checked, inventory_hostname=name)
        got = action(task_vars)._networks('mesh', {'host_id': 1}, task_vars)
        assert got == gre_mesh_networks(HOSTVARS, MEMBERS, name)


def test_a_template_in_the_variable_is_templated():
    try:
        from ansible.template import trust_as_template
    except ImportError:   # ansible-core < 2.19 templates every string
        def trust_as_template(value):
            return value
    checked = gre_mesh_checked(HOSTVARS, MEMBERS, MEMBERS)
    task_vars = dict(real=checked, mesh=trust_as_template('{{ real }}'),
                     inventory_hostname='kvm2')
    assert action(task_vars)._networks('mesh', {}, task_vars) == \
        [{'key': 1001, 'peers': [{'host_id': 1, 'remote_ip': '192.0.2.11'}]}]


@pytest.mark.parametrize('name, args, task_vars, message', [
    ('not a name', {}, {}, "mesh_var must be the name of a variable, got 'not a name'"),
    ('mesh', {'networks': []}, {}, 'mesh_var and networks are mutually exclusive'),
    ('mesh', {'key': 1001, 'peers': []}, {}, 'mesh_var and key, peers are mutually exclusive'),
    ('mesh', {}, {'inventory_hostname': 'kvm1'}, 'mesh_var: variable mesh is not defined'),
    ('mesh', {}, {'inventory_hostname': 'kvm1', 'mesh': [1]},
     'mesh_var mesh must be the result of cloudstack.ovs.gre_mesh_checked'),
    ('mesh', {}, {'inventory_hostname': 'new', 'mesh': gre_mesh_checked(HOSTVARS, MEMBERS)},
     'mesh_var mesh has no entry for host new'),
])
def test_refused_naming_mesh_var(name, args, task_vars, message):
    with pytest.raises(AnsibleActionFail) as err:
        action(task_vars)._networks(name, args, task_vars)
    assert message in str(err.value)
