# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Fixtures of the integration suite: real Open vSwitch, real lab hosts, real Ansible.

Run as root (namespaces, OVS): ``make system`` or ``.venv/bin/python -m pytest tests/system``.
"""

import importlib
import os

import pytest

from testbed import Lab, OvsSwitch
# The tests import these from here (``from conftest import ansible, run_module``).
from testbed.ansible_cli import (  # noqa: F401  pylint: disable=unused-import
    COLLECTIONS,
    PYTHON,
    ROOT,
    ansible,
    ansible_env,
    ensure_link as _ensure_link,
    recap,
    run_module,
)

# The collection below .build/link, which pytest.ini puts on sys.path: made now if missing (a
# fresh checkout), before the tests import it; a directory Python found missing at start-up is
# looked at again only after invalidate_caches.
_ensure_link()
importlib.invalidate_caches()


@pytest.fixture(scope='session', autouse=True)
def _must_be_root():
    if os.geteuid() != 0:
        pytest.fail('the integration suite needs root (network namespaces, Open vSwitch)')


@pytest.fixture
def workdir(tmp_path):
    """A fresh directory for one test, as a string (the tests join paths and write it into
    playbooks and shell scripts); pytest's ``tmp_path`` keeps the last runs for a look after a
    failure."""
    return str(tmp_path)


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
    return lab.write_inventory(os.path.join(lab.dir, 'inventory.yml'))
