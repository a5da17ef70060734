# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""execution-environment.yml: ansible-builder accepts it and writes a build context, and the
dependencies it would install (ansible-builder's own introspection over the built collection
and ngine_io.cloudstack) are the controller's - cs and an SSH client - not the KVM hosts'
(Open vSwitch, libvirt, ovsdbapp). No image is built here (no container engine)."""

import os
import shutil
import subprocess
import sys
import tempfile

import pytest
import yaml


from conftest import ROOT

BIN = os.path.dirname(sys.executable)
# The image's builder stage knows no collections but the ones it installs: without this, an
# ANSIBLE_COLLECTIONS_PATH that already holds cloudstack.ovs (make exports one) makes
# ansible-galaxy skip the install that introspection then looks at.
BUILDER_ENV = dict((k, v) for k, v in os.environ.items() if not k.startswith('ANSIBLE_'))


def run(*argv, **kw):
    proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=600, check=False,
                          **kw)
    assert proc.returncode == 0, '%s\n%s\n%s' % (' '.join(argv), proc.stdout, proc.stderr)
    return proc.stdout


@pytest.fixture(scope='module')
def workdir():
    path = tempfile.mkdtemp(prefix='ee-%d-' % os.getpid())
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope='module')
def context(workdir):
    """The EE definition with its files, the collection tarball where `make build` puts it,
    and the build context ansible-builder creates from them."""
    pytest.importorskip('ansible_builder', reason='ansible-builder (tests/requirements.txt)')
    src = os.path.join(workdir, 'src')
    for name in ('execution-environment.yml', 'requirements.yml', 'meta/ee-bindep.txt',
                 'meta/ee-requirements.txt'):
        os.makedirs(os.path.dirname(os.path.join(src, name)), exist_ok=True)
        shutil.copy(os.path.join(ROOT, name), os.path.join(src, name))
    dist = os.path.join(src, '.build', 'dist')
    run(os.path.join(BIN, 'ansible-galaxy'), 'collection', 'build', ROOT, '--output-path', dist)
    ctx = os.path.join(workdir, 'context')
    run(os.path.join(BIN, 'ansible-builder'), 'create', '-f',
        os.path.join(src, 'execution-environment.yml'), '-c', ctx, '--output-filename',
        'Containerfile')
    return dict(src=src, dist=dist, ctx=ctx)


def test_containerfile(context):
    with open(os.path.join(context['ctx'], 'Containerfile')) as handle:
        text = handle.read()
    assert 'ARG EE_BASE_IMAGE="quay.io/centos/centos:stream9"' in text
    assert 'ansible-core==2.19.14' in text and 'ansible-runner==' in text
    assert 'PYCMD="/usr/bin/python3.11"' in text
    # The collection goes in from the tarball that `make build` writes.
    assert 'cloudstack-ovs-*.tar.gz' in text
    tarballs = os.listdir(os.path.join(context['ctx'], '_build', 'dist'))
    assert [t for t in tarballs if t.startswith('cloudstack-ovs-')]


def test_introspected_dependencies_are_the_controllers(context, workdir):
    # What the image's builder stage sees: both collections installed, then introspection.
    collections = os.path.join(workdir, 'collections')
    tarball = [t for t in os.listdir(context['dist']) if t.endswith('.tar.gz')][0]
    run(os.path.join(BIN, 'ansible-galaxy'), 'collection', 'install', '--offline', '--no-deps',
        '-p', collections, os.path.join(context['dist'], tarball), env=BUILDER_ENV)
    ngine_io = subprocess.run(['bash', os.path.join(ROOT, '.ci', 'ngine-io-collection'),
                               sys.executable], capture_output=True, text=True, timeout=600,
                              check=False)
    assert ngine_io.returncode == 0, ngine_io.stderr
    shutil.copytree(os.path.join(ngine_io.stdout.strip(), 'ansible_collections', 'ngine_io'),
                    os.path.join(collections, 'ansible_collections', 'ngine_io'))
    build = os.path.join(context['ctx'], '_build')
    bindep_out = os.path.join(workdir, 'bindep.txt')
    out = run(sys.executable, os.path.join(build, 'scripts', 'introspect.py'), 'introspect',
              '--user-pip', os.path.join(build, 'requirements.txt'),
              '--user-bindep', os.path.join(build, 'bindep.txt'),
              '--write-bindep', bindep_out, '--write-pip', os.path.join(workdir, 'pip.txt'),
              collections)
    deps = yaml.safe_load(out)
    python = ' '.join(deps['python'])
    system = ' '.join(deps['system'])
    assert 'cs==3.4.1' in python and 'from collection ngine_io.cloudstack' in python
    # cs_ovs_provider runs on the controller too (meta/execution-environment.yml).
    assert [d for d in deps['python'] if d.startswith('cs') and 'cloudstack.ovs' in d], python
    assert 'openssh-client' in system and 'from collection cloudstack.ovs' in system
    for host_only in ('openvswitch', 'libvirt', 'ovsdbapp', 'qemu', 'ansible-core'):
        assert host_only not in python + system
    # The merged bindep file is valid bindep (on this Debian machine: ssh client is there).
    proc = subprocess.run([os.path.join(BIN, 'bindep'), '-l', 'newline', '-f', bindep_out],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode in (0, 1), proc.stderr
    assert 'openssh-clients' not in proc.stdout  # rpm name: not selected on dpkg platforms
