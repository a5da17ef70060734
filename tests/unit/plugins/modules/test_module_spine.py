# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Every module has the one shape: main() hands its parse/plan/apply to plan.run_module.

Read from each module's source (its syntax tree), so that a new module is checked the day it is
added: main() calls run_module, and nothing in the module exits, fails or branches on check
mode by itself - that is run_module's job, done once for all of them.
"""

import ast
import glob
import importlib
import os

import pytest

PLUGINS = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'plugins')
MODULES = os.path.join(PLUGINS, 'modules')
PATHS = sorted(glob.glob(os.path.join(MODULES, '*.py')))
# Every Python file of the collection's plugins (modules, module_utils, filters, action, ...).
PLUGIN_PATHS = sorted(glob.glob(os.path.join(PLUGINS, '**', '*.py'), recursive=True))


def tree(path):
    with open(path) as handle:
        return ast.parse(handle.read(), path)


def functions(module_tree):
    return dict((node.name, node) for node in module_tree.body
                if isinstance(node, ast.FunctionDef))


def called_names(node):
    names = set()
    for call in ast.walk(node):
        if isinstance(call, ast.Call):
            func = call.func
            names.add(func.attr if isinstance(func, ast.Attribute) else getattr(func, 'id', None))
    return names


# Modules whose code runs on the controller (an action plugin of the same name); the file holds
# only the documentation.
DOC_ONLY = [os.path.basename(p) for p in PATHS if 'main' not in functions(tree(p))]


def test_the_doc_only_modules_have_an_action_plugin():
    for name in DOC_ONLY:
        assert os.path.exists(os.path.join(MODULES, '..', 'action', name)), name


@pytest.mark.parametrize('path', [p for p in PATHS if os.path.basename(p) not in DOC_ONLY],
                         ids=os.path.basename)
def test_main_uses_the_spine(path):
    module_tree = tree(path)
    main = functions(module_tree)['main']
    assert 'run_module' in called_names(main), 'main() does not call plan.run_module'
    assert 'AnsibleModule' in called_names(main)
    imported = [alias.name for node in ast.walk(module_tree) if isinstance(node, ast.ImportFrom)
                for alias in node.names if node.module.endswith('module_utils.plan')]
    assert 'run_module' in imported
    for node in ast.walk(module_tree):
        if isinstance(node, ast.Attribute):
            assert node.attr not in ('exit_json', 'fail_json'), (
                'line %d: %s - exits and failures go through run_module' % (node.lineno, node.attr))
            assert node.attr != 'check_mode', (
                'line %d: check mode is handled by run_module' % node.lineno)


@pytest.mark.parametrize('path', [p for p in PATHS if os.path.basename(p) not in DOC_ONLY],
                         ids=os.path.basename)
def test_a_module_is_a_spec_and_a_main(path):
    """The logic lives in module_utils: a module file defines ``main()`` and at most its
    ``argument_spec()``, no class and no other function."""
    defined = sorted(node.name for node in tree(path).body
                     if isinstance(node, (ast.FunctionDef, ast.ClassDef)))
    assert defined in (['main'], ['argument_spec', 'main'])


def private_names(package):
    """Every name starting with one ``_`` that ``package``'s own code defines: functions,
    methods, classes, attributes it assigns, module and class variables."""
    root = os.path.dirname(importlib.import_module(package).__file__)
    names = set()
    for path in glob.glob(os.path.join(root, '**', '*.py'), recursive=True):
        if os.sep + 'tests' + os.sep in path:
            continue
        for node in ast.walk(tree(path)):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return set(n for n in names if n.startswith('_') and not n.endswith('__'))


def test_no_private_name_of_ovsdbapp_or_ovs_is_used():
    """The plugins use ovsdbapp and the OVS library through their public names only, so an
    upgrade of either (Debian 12 ships ovsdbapp 2.1, PyPI 3.x) does not break them. Any
    attribute a plugin reads or sets whose name one of them defines privately counts, our own
    classes' names included: a private name of ours is named apart from theirs."""
    pytest.importorskip('ovsdbapp')
    theirs = private_names('ovsdbapp') | private_names('ovs')
    assert '_session' in theirs and '_ovsdb_connection' in theirs  # what was used before
    found = []
    for path in PLUGIN_PATHS:
        for node in ast.walk(tree(path)):
            if isinstance(node, ast.Attribute) and node.attr in theirs:
                found.append('%s:%d %s' % (os.path.relpath(path, PLUGINS), node.lineno, node.attr))
    assert found == []


def module_check_mode_uses(path):
    """``(line, function, stored)`` of every ``<...>module.check_mode`` in the file."""
    uses = []

    def visit(node, function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(child, child.name)
                continue
            if (isinstance(child, ast.Attribute) and child.attr == 'check_mode'
                    and ast.unparse(child.value).rpartition('.')[2] == 'module'):
                uses.append((child.lineno, function, isinstance(child.ctx, ast.Store)))
            visit(child, function)
    visit(tree(path), None)
    return uses


MODULE_UTILS = sorted(glob.glob(os.path.join(PLUGINS, 'module_utils', '*.py')))


@pytest.mark.parametrize('path', MODULE_UTILS, ids=os.path.basename)
def test_check_mode_is_read_by_the_spine_and_the_contexts_only(path):
    """The spine (plan.py) decides whether apply runs; a ``context`` factory may open its
    resources differently (no lock, no clean-up) and hands on whether the run checks. Nothing
    else reads ``module.check_mode``, and nothing sets it."""
    for line, function, stored in module_check_mode_uses(path):
        assert not stored, 'line %d: module.check_mode is set' % line
        allowed = os.path.basename(path) == 'plan.py' or (function or '').endswith('context')
        assert allowed, 'line %d (%s): module.check_mode read outside a context' % (line, function)


def test_the_check_mode_check_sees_the_contexts():
    # The contexts that read it are found (a wrong walk would make the test above vacuous).
    seen = set(function for path in MODULE_UTILS for _l, function, _s in module_check_mode_uses(path))
    assert {'context', 'execute'} <= seen
