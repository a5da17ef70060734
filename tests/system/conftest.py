# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Fixtures of the integration suite: real Open vSwitch, real lab hosts, real Ansible.

Run as root (namespaces, OVS): ``make system`` or ``.venv/bin/python -m pytest tests/system``.
"""

import json
import os
import re
import subprocess
import sys

import pytest

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(TESTS)
sys.path.insert(0, TESTS)

from testbed import Lab, OvsSwitch  # noqa: E402

# The collection as Ansible and Python see it (``make link`` creates the symlink).
COLLECTIONS = os.path.join(ROOT, '.build', 'link')
PYTHON = sys.executable


def _ensure_link():
    link = os.path.join(COLLECTIONS, 'ansible_collections', 'cloudstack', 'ovs')
    if not os.path.exists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(ROOT, link)


def ansible_env(**extra):
    _ensure_link()
    env = dict(os.environ)
    env.update(ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, PYTHONPATH=COLLECTIONS,
               ANSIBLE_HOST_KEY_CHECKING='False', ANSIBLE_RETRY_FILES_ENABLED='False',
               ANSIBLE_NOCOLOR='1', ANSIBLE_PYTHON_INTERPRETER=PYTHON,
               ANSIBLE_LOCALHOST_WARNING='False', ANSIBLE_DEPRECATION_WARNINGS='False')
    env.update(extra)
    return env


def run_module(name, args, check_mode=False, diff=False, timeout=120, env=None):
    """Run ``cloudstack.ovs.<name>`` the way Ansible runs it on a host: a Python process fed
    its arguments as JSON. Returns the module's result dict (``failed`` and ``msg`` on failure).
    ``env`` adds to (or overrides) the environment of ``ansible_env()``.
    """
    _ensure_link()
    payload = dict(args)
    payload['_ansible_check_mode'] = check_mode
    payload['_ansible_diff'] = diff
    proc = subprocess.run(
        [PYTHON, '-m', 'ansible_collections.cloudstack.ovs.plugins.modules.' + name],
        input=json.dumps({'ANSIBLE_MODULE_ARGS': payload}), capture_output=True, text=True,
        timeout=timeout, env=ansible_env(**(env or {})), check=False)
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise AssertionError('module %s printed no JSON (rc=%d):\n%s\n%s'
                             % (name, proc.returncode, proc.stdout, proc.stderr))


def ansible(*argv, **kw):
    """Run an ansible command line (``ansible``, ``ansible-playbook`` ...) from the venv."""
    binary = os.path.join(os.path.dirname(PYTHON), argv[0])
    env = ansible_env(**kw.pop('env', {}))
    return subprocess.run([binary] + list(argv[1:]), capture_output=True, text=True, env=env,
                          cwd=kw.pop('cwd', ROOT), timeout=kw.pop('timeout', 600), check=False,
                          **kw)


def recap(stdout):
    """``PLAY RECAP`` of ansible-playbook output: host -> {'ok': n, 'changed': n, ...}."""
    out = {}
    text = stdout.rsplit('PLAY RECAP', 1)[-1]
    for match in re.finditer(r'^(\S+)\s+:\s+(.*)$', text, re.M):
        out[match.group(1)] = dict((k, int(v)) for k, v in re.findall(r'(\w+)=(\d+)', match.group(2)))
    return out


@pytest.fixture(scope='session', autouse=True)
def _must_be_root():
    if os.geteuid() != 0:
        pytest.fail('the integration suite needs root (network namespaces, Open vSwitch)')


@pytest.fixture
def ovs_switch():
    """A fresh Open vSwitch (ovsdb-server + ovs-vswitchd, userspace datapath) for one test."""
    switch = OvsSwitch().start()
    try:
        yield switch
    finally:
        switch.destroy()


@pytest.fixture
def fake():
    """A fake CloudStack management server on 127.0.0.1 (tests/system/fake_cloudstack.py)."""
    from fake_cloudstack import FakeCloudStack
    server = FakeCloudStack()
    server.url = server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake_tls(tmp_path):
    """The fake management server over HTTPS with a self-signed certificate made for this test
    (``fake_tls.ca_file``: the certificate, its own CA)."""
    from fake_cloudstack import FakeCloudStack, self_signed_certificate
    server = FakeCloudStack()
    cert_file, key_file = self_signed_certificate(str(tmp_path))
    server.ca_file = cert_file
    server.url = server.start(tls=(cert_file, key_file))
    try:
        yield server
    finally:
        server.stop()


def _three_host_lab(tmp_path_factory, name):
    the_lab = Lab(str(tmp_path_factory.mktemp(name)), hosts=3).create(start_ovs=True)
    try:
        yield the_lab
    finally:
        the_lab.destroy()


@pytest.fixture(scope='module')
def lab(tmp_path_factory):
    """Three lab hosts with OVS running, reachable over SSH; one lab per test module."""
    yield from _three_host_lab(tmp_path_factory, 'lab')


@pytest.fixture
def second_lab(tmp_path_factory):
    """Another three-host lab, for one test that must start from switches nobody touched."""
    yield from _three_host_lab(tmp_path_factory, 'lab-b')


@pytest.fixture(scope='module')
def lab_inventory(lab):
    return lab.write_inventory(os.path.join(lab.dir, 'inventory.yml'), PYTHON)
