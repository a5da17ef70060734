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

try:
    from ansible.template import trust_as_template
except ImportError:   # ansible-core < 2.19 templates every string
    def trust_as_template(value):
        return value

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
        got, host_id = action(task_vars)._networks('mesh', {'host_id': 1}, task_vars)
        assert got == gre_mesh_networks(HOSTVARS, MEMBERS, name)
        assert host_id == HOSTVARS[name]['cloudstack_host_id']


def test_a_template_in_the_variable_is_templated():
    checked = gre_mesh_checked(HOSTVARS, MEMBERS, MEMBERS)
    task_vars = dict(real=checked, mesh=trust_as_template('{{ real }}'),
                     inventory_hostname='kvm2')
    assert action(task_vars)._networks('mesh', {}, task_vars) == \
        ([{'key': 1001, 'peers': [{'host_id': 1, 'remote_ip': '192.0.2.11'}]}], 2)


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


def playbook_args():
    """gre_mesh.yml's converge task's arguments."""
    import os
    import yaml
    path = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'playbooks',
                        'gre_mesh.yml')
    with open(path) as handle:
        return yaml.safe_load(handle)[0]['tasks'][1]['cloudstack.ovs.gre_network']


def test_the_playbook_fails_every_host_with_the_checks_message():
    """A bad entry: the check (run_once, ignore_errors) failed and gre_mesh_checked is not
    set; every host fails its gre_network task with the check's message, before any host
    changes - the host without networks too."""
    message = 'the mesh inventory is wrong, no host is changed: cloudstack_host_id of kvm2: x'
    for name in MEMBERS:
        task_vars = dict(gre_mesh_check={'failed': True, 'msg': message},
                         inventory_hostname=name)
        with pytest.raises(AnsibleActionFail) as err:
            action(task_vars).module_args(dict(playbook_args()), task_vars)
        assert str(err.value) == message


def test_the_playbook_gives_host_id_networks_and_skips_a_host_without_networks():
    checked = gre_mesh_checked(HOSTVARS, MEMBERS, MEMBERS)
    for name in ('kvm1', 'kvm2'):
        task_vars = dict(gre_mesh_check={'failed': False}, gre_mesh_checked=checked,
                         inventory_hostname=name)
        args, skipped = action(task_vars).module_args(dict(playbook_args()), task_vars)
        assert skipped is None
        assert args['host_id'] == HOSTVARS[name]['cloudstack_host_id']
        assert args['networks'] == gre_mesh_networks(HOSTVARS, MEMBERS, name)
        # no inventory settings: the task's own (timeout 60) and the module's defaults
        assert args['timeout'] == 60
        assert not [k for k in ('datapath_type', 'local_ip', 'db', 'purge') if k in args]
    task_vars = dict(gre_mesh_check={'failed': False}, gre_mesh_checked=checked,
                     inventory_hostname='kvm3')
    args, skipped = action(task_vars).module_args(dict(playbook_args()), task_vars)
    assert args is None and skipped == 'kvm3 carries no GRE network in mesh_var gre_mesh_checked'


def test_a_host_id_the_task_gives_is_kept():
    checked = gre_mesh_checked(HOSTVARS, MEMBERS, MEMBERS)
    task_vars = dict(mesh=checked, inventory_hostname='kvm1')
    args, _skip = action(task_vars).module_args({'mesh_var': 'mesh', 'host_id': 7}, task_vars)
    assert args['host_id'] == 7


def test_host_vars_take_the_hosts_settings_where_it_has_them():
    checked = gre_mesh_checked(HOSTVARS, MEMBERS, MEMBERS)
    task_vars = dict(gre_mesh_check={'failed': False}, gre_mesh_checked=checked,
                     inventory_hostname='kvm1', cloudstack_gre_purge='all_stale',
                     cloudstack_gre_local_ip=None, zone_timeout=90,
                     cloudstack_gre_timeout=trust_as_template('{{ zone_timeout }}'),
                     cloudstack_gre_datapath_type='netdev')
    args, _skip = action(task_vars).module_args(dict(playbook_args()), task_vars)
    assert args['purge'] == 'all_stale' and args['datapath_type'] == 'netdev'
    assert args['timeout'] == 90            # templated, and over the task's 60
    assert 'local_ip' not in args and 'db' not in args   # null, undefined: not given


@pytest.mark.parametrize('args, message', [
    ({'mesh_check_var': 'c', 'host_id': 1, 'key': 1001},
     'mesh_check_var: only with mesh_var'),
    ({'host_vars': {'purge': 'p'}, 'host_id': 1, 'key': 1001}, 'host_vars: only with mesh_var'),
    ({'mesh_var': 'mesh', 'mesh_check_var': 'not a name'},
     "mesh_check_var must be the name of a variable, got 'not a name'"),
    ({'mesh_var': 'mesh', 'mesh_check_var': 'nocheck'},
     'mesh_check_var: variable nocheck is not defined'),
    ({'mesh_var': 'mesh', 'host_vars': ['purge']},
     "host_vars: must be a mapping of option to variable name (got ['purge'])"),
    ({'mesh_var': 'mesh', 'host_vars': {'state': 'x'}},
     "host_vars: 'state' is not an option it can set"),
    ({'mesh_var': 'mesh', 'host_vars': {'purge': 'a-b'}},
     "host_vars.purge must be the name of a variable, got 'a-b'"),
])
def test_refused_naming_the_option(args, message):
    task_vars = dict(mesh=gre_mesh_checked(HOSTVARS, MEMBERS, MEMBERS), inventory_hostname='kvm1')
    with pytest.raises(AnsibleActionFail) as err:
        action(task_vars).module_args(dict(args), task_vars)
    assert message in str(err.value)
