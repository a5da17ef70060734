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
"""

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.cloudstack.ovs.plugins.plugin_utils.gre_mesh_host import (
    MeshError,
    host_networks,
)

# what mesh_var replaces (the module's one-network form and its networks)
EXCLUSIVE = ('networks', 'key', 'peers', 'bridge')


class ActionModule(ActionBase):
    """Runs gre_network, with the host's networks from the checked mesh when asked."""

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        args = dict(self._task.args)
        name = args.get('mesh_var')
        if name is not None:
            # the module keeps the name, to echo it instead of the networks (gre_request's
            # mesh_invocation)
            args['networks'] = self._networks(name, args, task_vars)
        # every other option is the module's, and the module checks it
        result.update(self._execute_module(module_name='cloudstack.ovs.gre_network',
                                           module_args=args, task_vars=task_vars))
        return result

    def _networks(self, name, args, task_vars):
        if not isinstance(name, str) or not name.isidentifier():
            raise AnsibleActionFail('mesh_var must be the name of a variable, got %r' % (name,))
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
        try:
            return host_networks(checked, task_vars['inventory_hostname'],
                                 what='mesh_var %s' % name)
        except MeshError as exc:
            raise AnsibleActionFail(str(exc))
