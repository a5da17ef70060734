# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""meta/runtime.yml's action groups hold every module that takes their options.

``module_defaults: {group/cloudstack.ovs.ovs: {db: ...}}`` reaches only the modules listed in
the group, so a module that documents the ``cloudstack.ovs.ovsdb`` options (``db``, ``timeout``)
and is left out of ``ovs`` silently talks to the default database. Read from each module's
DOCUMENTATION, so that a new module is checked the day it is added.
"""

import ast
import glob
import os

import yaml

ROOT = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..')
# action group -> the doc fragment whose options its modules share
GROUPS = {'ovs': 'cloudstack.ovs.ovsdb', 'cloudstack': 'cloudstack.ovs.cloudstack_api'}


def documentation(path):
    with open(path) as handle:
        for node in ast.parse(handle.read(), path).body:
            if isinstance(node, ast.Assign) and [getattr(t, 'id', None) for t in node.targets] == ['DOCUMENTATION']:
                return yaml.safe_load(node.value.value)
    raise AssertionError('%s has no DOCUMENTATION' % path)


def test_every_module_sharing_a_fragment_is_in_its_group():
    with open(os.path.join(ROOT, 'meta', 'runtime.yml')) as handle:
        groups = yaml.safe_load(handle)['action_groups']
    wanted = dict((group, []) for group in GROUPS)
    for path in sorted(glob.glob(os.path.join(ROOT, 'plugins', 'modules', '*.py'))):
        fragments = documentation(path).get('extends_documentation_fragment') or []
        for group, fragment in GROUPS.items():
            if fragment in fragments:
                wanted[group].append(os.path.basename(path)[:-3])
    assert wanted['ovs'], 'no module extends %s' % GROUPS['ovs']
    for group in GROUPS:
        assert sorted(groups[group]) == wanted[group], group
