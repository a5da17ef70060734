# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Filters fail one way (plugin_utils/filter_errors.py), and ParamError comes from errors.py."""

import ast
import glob
import os

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.cloudstack.ovs.plugins.filter.cloudbr import cloudbr_plan
from ansible_collections.cloudstack.ovs.plugins.filter.dpdk import cpu_list_to_mask
from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import ParamError
from ansible_collections.cloudstack.ovs.plugins.plugin_utils.filter_errors import filter_errors

ROOT = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..')
FILTERS = sorted(glob.glob(os.path.join(ROOT, 'plugins', 'filter', '*.py')))


def names_used(path):
    with open(path) as handle:
        tree = ast.parse(handle.read(), path)
    return set(node.id for node in ast.walk(tree) if isinstance(node, ast.Name)) | set(
        alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
        for alias in node.names)


@pytest.mark.parametrize('path', FILTERS, ids=os.path.basename)
def test_no_filter_raises_ansible_filter_error_itself(path):
    assert 'AnsibleFilterError' not in names_used(path)


def test_the_decorator_keeps_or_names_the_message():
    def boom():
        raise ParamError('cpus: bad (got 7)')
    with pytest.raises(AnsibleFilterError, match=r'^cpus: bad \(got 7\)$'):
        filter_errors()(boom)()
    with pytest.raises(AnsibleFilterError, match=r'^boom: cpus: bad \(got 7\)$'):
        filter_errors(named=True)(boom)()
    assert filter_errors()(lambda: 3)() == 3


def test_filters_fail_with_the_message_of_the_field():
    with pytest.raises(AnsibleFilterError, match=r'^cloudbr_plan: expects the ip -j state dict'):
        cloudbr_plan('nope', 'cloudbr0', 'eth0')
    with pytest.raises(AnsibleFilterError, match=r'^cpu list: '):
        cpu_list_to_mask('x-y')


def test_param_error_is_imported_from_errors_only():
    paths = glob.glob(os.path.join(ROOT, 'plugins', '**', '*.py'), recursive=True) + glob.glob(
        os.path.join(ROOT, 'tests', '**', '*.py'), recursive=True)
    found = []
    for path in paths:
        with open(path) as handle:
            tree = ast.parse(handle.read(), path)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and any(a.name == 'ParamError' for a in node.names):
                if not node.module.endswith('module_utils.errors'):
                    found.append('%s:%d' % (os.path.relpath(path, ROOT), node.lineno))
    assert found == []
