# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Action of ``cloudstack.ovs.gre_network`` (documented in plugins/modules/gre_network.py).

Without O(mesh_var) it only runs the module. With O(mesh_var) (``playbooks/gre_mesh.yml``) it
takes this host's networks and peers from the mesh checked once for the run
(``cloudstack.ovs.gre_mesh_checked``, kept by ``set_fact``), in Python, and gives them to the
module as ``networks``: per host, ansible-core 2.19 templating and finalizing that list as a
task argument cost the controller about 100 ms at 128 hosts (docs/scale.md); read from the
task's variables it is not templated at all. The module is given ``mesh_var`` too, and its
result's ``invocation`` shows that instead of echoing the networks back.

With O(mesh_var) the action also does in Python what the play did with a template in every
host's worker (each compiled anew there: docs/scale.md, "What is left over ping"): the host id
from the checked mesh, the skip of a host that carries no network, the failure of every host
when the check of the mesh failed (O(mesh_check_var)), and the options the host's inventory
variables give (O(host_vars)).
"""

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.cloudstack.ovs.plugins.plugin_utils.gre_mesh_host import (
    MeshError,
    host_networks,
)

# what mesh_var replaces (the module's one-network form and its networks)
EXCLUSIVE = ('networks', 'key', 'peers', 'bridge')
# what only goes with mesh_var
WITH_MESH_VAR = ('mesh_check_var', 'host_vars')
# the options host_vars may name: the per-host settings of gre_mesh.yml's inventory
HOST_VAR_OPTIONS = ('datapath_type', 'local_ip', 'db', 'purge', 'timeout')


def _variable_name(field, name):
    if not isinstance(name, str) or not name.isidentifier():
        raise AnsibleActionFail('%s must be the name of a variable, got %r' % (field, name))
    return name


class ActionModule(ActionBase):
    """Runs gre_network, with the host's networks from the checked mesh when asked."""

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        args, skip_reason = self.module_args(dict(self._task.args), task_vars)
        if skip_reason is not None:
            result.update(changed=False, skipped=True, skip_reason=skip_reason)
            return result
        # every other option is the module's, and the module checks it
        result.update(self._execute_module(module_name='cloudstack.ovs.gre_network',
                                           module_args=args, task_vars=task_vars))
        return result

    def module_args(self, args, task_vars):
        """``(module arguments, None)`` for this host, or ``(None, why)`` when it is skipped;
        raises AnsibleActionFail naming the option at fault."""
        name = args.get('mesh_var')
        if name is None:
            given = [k for k in WITH_MESH_VAR if args.get(k) is not None]
            if given:
                raise AnsibleActionFail('%s: only with mesh_var (got %s without it)'
                                        % (given[0], given[0]))
            return args, None
        self._mesh_check(args.get('mesh_check_var'), task_vars)
        # the module keeps the name, to echo it instead of the networks (gre_request's
        # mesh_invocation)
        args['networks'], host_id = self._networks(name, args, task_vars)
        if not args['networks']:
            return None, ('%s carries no GRE network in mesh_var %s'
                          % (task_vars.get('inventory_hostname'), name))
        if args.get('host_id') is None:
            args['host_id'] = host_id
        args.update(self._host_vars(args.get('host_vars'), task_vars))
        return args, None

    def _mesh_check(self, name, task_vars):
        """Fail this host, with the check's own message, when the task that checked the mesh
        (registered as ``name``) failed: every host of the run fails so, none is changed."""
        if name is None:
            return
        _variable_name('mesh_check_var', name)
        if name not in task_vars:
            raise AnsibleActionFail('mesh_check_var: variable %s is not defined (register the '
                                    'task that checks the mesh as %s)' % (name, name))
        check = task_vars[name]
        if hasattr(check, 'get') and check.get('failed'):
            raise AnsibleActionFail(str(check.get('msg') or 'the check of the mesh failed (%s)'
                                        % name))

    def _networks(self, name, args, task_vars):
        """This host's networks from the checked mesh, and its host id there."""
        _variable_name('mesh_var', name)
        given = [k for k in EXCLUSIVE if args.get(k) is not None]
        if given:
            raise AnsibleActionFail('mesh_var and %s are mutually exclusive (mesh_var gives '
                                    'the networks)' % ', '.join(given))
        if name not in task_vars:
            raise AnsibleActionFail('mesh_var: variable %s is not defined (set it with '
                                    'cloudstack.ovs.gre_mesh_checked)' % name)
        checked = task_vars[name]
        if isinstance(checked, str):
            # a template (play vars); set_fact's value is data already and is read as it is
            checked = self._templar.template(checked)
        host = task_vars['inventory_hostname']
        try:
            networks = host_networks(checked, host, what='mesh_var %s' % name)
        except MeshError as exc:
            raise AnsibleActionFail(str(exc))
        return networks, checked['host_ids'].get(host)

    def _host_vars(self, mapping, task_vars):
        """``{option: value}`` for each option of ``mapping`` (option -> variable name) whose
        variable this host has (and is not null), templated as the play would."""
        if mapping is None:
            return {}
        if not hasattr(mapping, 'items'):
            raise AnsibleActionFail('host_vars: must be a mapping of option to variable name '
                                    '(got %r)' % (mapping,))
        out = {}
        for option, var in mapping.items():
            if option not in HOST_VAR_OPTIONS:
                raise AnsibleActionFail('host_vars: %r is not an option it can set (%s; got %r)'
                                        % (option, ', '.join(HOST_VAR_OPTIONS), mapping))
            _variable_name('host_vars.%s' % option, var)
            if var not in task_vars:
                continue
            value = self._templar.template(task_vars[var])
            if value is not None:
                out[option] = value
        return out
