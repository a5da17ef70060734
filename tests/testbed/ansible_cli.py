# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Ansible's command line against the testbed: the environment, one module run the way Ansible
runs it on a host, ``ansible``/``ansible-playbook`` from the venv, and the play recap.

Shared by the integration suite (``tests/system/conftest.py`` re-exports these names) and the
benchmarks (``bench/``). The collection is used through ``.build/link`` (``make link``).
"""

import json
import os
import re
import subprocess
import sys

# The repository (the collection's root): tests/testbed/ansible_cli.py -> three levels up.
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The collection as Ansible and Python see it (``make link`` creates the symlink).
COLLECTIONS = os.path.join(ROOT, '.build', 'link')
PYTHON = sys.executable
# The testbed's callback (callback_plugins/task_events.py): each task result as a JSON line.
CALLBACK_PLUGINS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'callback_plugins')


def ensure_link():
    """The collection below ansible_collections/cloudstack/ovs (what ``make link`` makes)."""
    link = os.path.join(COLLECTIONS, 'ansible_collections', 'cloudstack', 'ovs')
    if not os.path.exists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(ROOT, link)


def ansible_env(**extra):
    """The environment of every Ansible run: this collection, the venv's Python, no prompts."""
    ensure_link()
    env = dict(os.environ)
    env.update(ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, PYTHONPATH=COLLECTIONS,
               ANSIBLE_HOST_KEY_CHECKING='False', ANSIBLE_RETRY_FILES_ENABLED='False',
               ANSIBLE_NOCOLOR='1', ANSIBLE_PYTHON_INTERPRETER=PYTHON,
               ANSIBLE_LOCALHOST_WARNING='False', ANSIBLE_DEPRECATION_WARNINGS='False')
    env.update(extra)
    return env


def task_events_env(path):
    """What the environment of ``ansible-playbook`` needs to write its task results to ``path``
    (the ``task_events`` callback: host, task, action, status, changed, actions, start, end)."""
    return dict(ANSIBLE_CALLBACK_PLUGINS=CALLBACK_PLUGINS, ANSIBLE_CALLBACKS_ENABLED='task_events',
                CLOUDSTACK_OVS_TASK_EVENTS=path)


def read_task_events(path):
    """The task results ``task_events`` wrote to ``path``, in order (none when it wrote none)."""
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def run_module(name, args, check_mode=False, diff=False, timeout=120, env=None, raw=False):
    """Run ``cloudstack.ovs.<name>`` the way Ansible runs it on a host: a Python process fed
    its arguments as JSON. Returns the module's result dict (``failed`` and ``msg`` on failure).
    ``env`` adds to (or overrides) the environment of ``ansible_env()``; ``raw`` adds ``_raw``,
    everything the process printed (stdout and stderr), for tests of what must never show.
    The one module runner of the tests and the benchmarks.
    """
    ensure_link()
    payload = dict(args)
    payload['_ansible_check_mode'] = check_mode
    payload['_ansible_diff'] = diff
    proc = subprocess.run(
        [PYTHON, '-m', 'ansible_collections.cloudstack.ovs.plugins.modules.' + name],
        input=json.dumps({'ANSIBLE_MODULE_ARGS': payload}), capture_output=True, text=True,
        timeout=timeout, env=ansible_env(**(env or {})), check=False)
    try:
        result = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError('module %s printed no JSON (rc=%d):\n%s\n%s'
                             % (name, proc.returncode, proc.stdout, proc.stderr))
    if raw:
        result['_raw'] = proc.stdout + proc.stderr
    return result


def ansible(*argv, **kw):
    """Run an ansible command line (``ansible``, ``ansible-playbook`` ...) from the venv.

    Its output is captured (``.stdout``, ``.stderr``), or with ``live=True`` goes to this
    process's own, as an operator watches it (``make lab``)."""
    binary = os.path.join(os.path.dirname(PYTHON), argv[0])
    env = ansible_env(**kw.pop('env', {}))
    return subprocess.run([binary] + list(argv[1:]), capture_output=not kw.pop('live', False),
                          text=True, env=env, cwd=kw.pop('cwd', ROOT),
                          timeout=kw.pop('timeout', 600), check=False, **kw)


def recap(stdout):
    """``PLAY RECAP`` of ansible-playbook output: host -> {'ok': n, 'changed': n, ...}."""
    out = {}
    text = stdout.rsplit('PLAY RECAP', 1)[-1]
    for match in re.finditer(r'^(\S+)\s+:\s+(.*)$', text, re.M):
        counts = re.findall(r'(\w+)=(\d+)', match.group(2))
        out[match.group(1)] = dict((k, int(v)) for k, v in counts)
    return out
