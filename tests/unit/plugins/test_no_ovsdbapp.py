# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Filters and pure planners do not import ovsdbapp (nor the OVS library).

Ansible imports every filter file of the collection, in each worker, to find one filter: a filter
that pulled in ovsdbapp would cost every host that import. Only ``module_utils/ovsdb.py`` (the
session) may import it, and the reading of a module that opens a session
(``gre_mesh_info``). Each check runs in a fresh interpreter, so what this test process
has imported already does not count.
"""

import os
import subprocess
import sys

import pytest

from ansible_collections.cloudstack.ovs.plugins.module_utils import validate

PKG = 'ansible_collections.cloudstack.ovs.plugins'
MODULE_UTILS = os.path.dirname(os.path.abspath(validate.__file__))
FILTERS = os.path.join(os.path.dirname(MODULE_UTILS), 'filter')
HEAVY = ('ovsdbapp', 'ovs')
SESSION = 'ovsdb'
# Module I/O that opens a session: neither a filter nor a planner imports it.
SESSION_USERS = (SESSION, 'gre_mesh_info')


def names(directory):
    return sorted(f[:-3] for f in os.listdir(directory)
                  if f.endswith('.py') and f != '__init__.py')


PURE = ['%s.module_utils.%s' % (PKG, n) for n in names(MODULE_UTILS) if n not in SESSION_USERS]
FILTER_PLUGINS = ['%s.filter.%s' % (PKG, n) for n in names(FILTERS)]


def loaded_after_import(modules):
    """Which of HEAVY a fresh interpreter has in sys.modules after importing ``modules``."""
    code = ('import importlib, sys\n'
            'for name in sys.argv[1:]:\n'
            '    importlib.import_module(name)\n'
            'print(" ".join(m for m in %r if m in sys.modules))\n' % (HEAVY,))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.run([sys.executable, '-c', code] + list(modules), env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def test_the_lists_are_not_empty():
    # Planners and filters this test must cover (a wrong directory would make it pass vacuously).
    for name in ('bridge', 'gre', 'dpdk', 'mesh_doctor', 'ovsdb_ops', 'ovsdb_rows',
                 'ovsdb_options', 'validate', 'ofctl'):
        assert '%s.module_utils.%s' % (PKG, name) in PURE
    for name in ('dpdk', 'gre_mesh', 'mesh_doctor', 'cloudbr', 'extraconfig'):
        assert '%s.filter.%s' % (PKG, name) in FILTER_PLUGINS


def test_filters_and_planners_do_not_import_ovsdbapp():
    assert loaded_after_import(FILTER_PLUGINS + PURE) == []


@pytest.mark.parametrize('name', FILTER_PLUGINS)
def test_each_filter_alone(name):
    assert loaded_after_import([name]) == []


def test_the_session_does_import_it():
    # The same check sees ovsdbapp when it is imported: the assertions above can fail.
    pytest.importorskip('ovsdbapp')
    assert loaded_after_import(['%s.module_utils.%s' % (PKG, SESSION)]) == list(HEAVY)
