# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""execution-environment.yml: ansible-builder accepts it and writes a build context for a Debian
base (apt behind its package manager calls, Python requirements as ranges), and the
dependencies it would install (ansible-builder's own introspection over the built collection
and ngine_io.cloudstack) are the controller's - cs and an SSH client - not the KVM hosts'
(Open vSwitch, libvirt, ovsdbapp).

The image itself is built by ``make ee`` (podman, minutes; not in CI). When it exists on this
machine, the last two tests look into it and run ``make ee-test``'s jobs in it (about 3 minutes);
otherwise they are skipped."""

import os
import re
import shutil
import subprocess
import sys

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
def workdir(tmp_path_factory):
    return str(tmp_path_factory.mktemp('ee'))


@pytest.fixture(scope='module')
def context(workdir):
    """The EE definition with its files, the collection tarball where `make build` puts it,
    and the build context ansible-builder creates from them."""
    pytest.importorskip('ansible_builder', reason='ansible-builder (tests/requirements.txt)')
    src = os.path.join(workdir, 'src')
    for name in ('execution-environment.yml', 'requirements.yml', 'meta/ee-bindep.txt',
                 'meta/ee-requirements.txt', 'meta/ee-apt-get'):
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
    # A Debian 12 base (make ee imports one; an operator names theirs with EE_BASE_IMAGE).
    assert 'ARG EE_BASE_IMAGE="localhost/cloudstack-ovs-debian:12"' in text
    assert 'PYCMD="/usr/bin/python3"' in text and 'PYPKG="python3 python3-pip"' in text
    # ansible-builder's dnf-style calls go to apt through meta/ee-apt-get.
    assert 'ARG PKGMGR="/usr/local/sbin/ee-apt-get"' in text
    assert 'COPY --chmod=0755 _build/ee/ee-apt-get /usr/local/sbin/ee-apt-get' in text
    with open(os.path.join(context['ctx'], '_build', 'ee', 'ee-apt-get')) as handle:
        wrapper = handle.read()
    assert 'apt-get install -y -q --no-install-recommends' in wrapper
    assert 'rm -rf /var/lib/apt/lists/*' in wrapper
    # Debian's system Python has no ensurepip: pip is python3-pip.
    assert 'pip_install' not in text.replace('COPY _build/scripts/', '')
    assert 'ansible-core>=2.19.0,<2.20' in text and 'ansible-runner>=2.4.0,<2.5' in text
    # The collection goes in from the tarball that `make build` writes.
    assert 'cloudstack-ovs-*.tar.gz' in text
    tarballs = os.listdir(os.path.join(context['ctx'], '_build', 'dist'))
    assert [t for t in tarballs if t.startswith('cloudstack-ovs-')]


def test_python_requirements_are_ranges():
    with open(os.path.join(ROOT, 'execution-environment.yml')) as handle:
        definition = yaml.safe_load(handle)
    deps = definition['dependencies']
    reqs = [deps['ansible_core']['package_pip'], deps['ansible_runner']['package_pip']]
    with open(os.path.join(ROOT, 'meta', 'ee-requirements.txt')) as handle:
        reqs += [line.strip() for line in handle if line.strip() and not line.startswith('#')]
    for req in reqs:
        assert '==' not in req and re.search(r'>=[0-9.]+,<[0-9.]+$', req), req


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
    # The EE file names no Python or system packages of its own: all come from the collections.
    assert not os.path.exists(os.path.join(build, 'requirements.txt'))
    assert not os.path.exists(os.path.join(build, 'bindep.txt'))
    bindep_out = os.path.join(workdir, 'bindep.txt')
    out = run(sys.executable, os.path.join(build, 'scripts', 'introspect.py'), 'introspect',
              '--write-bindep', bindep_out, '--write-pip', os.path.join(workdir, 'pip.txt'),
              collections)
    deps = yaml.safe_load(out)
    python = ' '.join(deps['python'])
    system = ' '.join(deps['system'])
    assert 'cs>=3.4.1,<4' in python and 'from collection ngine_io.cloudstack' in python
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


def _image():
    """The image ``make ee`` builds for this checkout's version, or a skip."""
    if os.geteuid() != 0 or not os.access('/usr/bin/podman', os.X_OK):
        pytest.skip('no podman here (make ee installs it)')
    from ee.image import conf_path, image_name
    from ee.podman import podman
    conf = conf_path()
    if podman(conf, 'image', 'exists', image_name(), check=False).returncode != 0:
        pytest.skip('no image %s (make ee builds it)' % image_name())
    return conf, image_name()


def test_image_holds_the_collections():
    conf, image = _image()
    from ee.podman import podman
    out = podman(conf, 'run', '--rm', '--network', 'none', image, 'bash', '-c',
                 'ansible-galaxy collection list 2>/dev/null; python3 -m pip list 2>/dev/null;'
                 ' find /var/lib/apt/lists /usr/share/doc -mindepth 1 | wc -l; command -v ssh').stdout
    with open(os.path.join(ROOT, 'galaxy.yml')) as handle:
        version = yaml.safe_load(handle)['version']
    assert re.search(r'cloudstack\.ovs\s+%s' % re.escape(version), out), out
    assert re.search(r'ngine_io\.cloudstack\s+2\.', out), out
    assert re.search(r'^cs\s+3\.', out, re.M) and re.search(r'^ansible-core\s+2\.19\.', out, re.M)
    assert '/usr/bin/ssh' in out
    # No package lists, no documentation.
    assert out.strip().splitlines()[-2].strip() == '0', out


def test_jobs_in_the_image():
    """make ee-test: kvm_host, gre_mesh, mesh_doctor twice in the image, as AWX runs them."""
    _image()
    proc = subprocess.run([sys.executable, '-m', 'ee.job'], cwd=ROOT, capture_output=True,
                          text=True, timeout=1800, check=False,
                          env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, 'tests')))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert 'r2-gre_mesh' in proc.stdout and 'secrets in events: none' in proc.stdout
