# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""``ansible-galaxy collection build`` makes an artifact that installs, documents itself and works.

The artifact holds what runs on a user's controller or host (galaxy.yml's build_ignore), also
when a run left reports in the tree; installed from the artifact alone, every plugin and role
documents itself and every shipped playbook passes ``--syntax-check`` on the oldest and the
newest ansible-core meta/runtime.yml claims (venvs of their own, .ci/core-venv) and on the venv's.
"""

import glob
import json
import os
import re
import subprocess
import tarfile

import pytest
import yaml

from conftest import PYTHON, ROOT, ansible_env

BIN = os.path.dirname(PYTHON)
# ansible-core -> (its pinned requirements, the Python it runs on, the `ansible` package whose
# ngine_io.cloudstack zone.yml's syntax check uses: what users of that ansible-core get).
CORES = {'oldest': ('requirements-core-oldest.txt', None, '12.3.0'),
         'venv': (None, None, '12.3.0'),
         'newest': ('requirements-core-newest.txt', '3.12', '14.5.0')}
# What a user's controller or host runs, and its documentation.
SHIPPED_FILES = {'MANIFEST.json', 'FILES.json', 'README.md', 'LICENSE', 'CHANGELOG.rst',
                 'requirements.txt', 'requirements-host.txt', 'requirements.yml', 'bindep.txt',
                 'execution-environment.yml',
                 'tests/config.yml'}
SHIPPED_DIRS = ('plugins/', 'roles/', 'meta/', 'docs/', 'changelogs/', 'playbooks/',
                'tests/sanity/')
# The lab's playbooks make csdpdk-1/csdpdk-2, the names CloudStack's agent uses, on any host.
LAB_PLAYBOOKS = {'playbooks/lab.yml', 'playbooks/lab_dpdk.yml'}
# Left in the tree by runs: the mesh doctor's report (in the directory it ran from), the
# benchmarks' and the lab's output, ansible-test's, Python's caches.
STRAYS = ('mesh-doctor/mesh-doctor.md', 'bench/out/fleet.json', 'lab/out/report.md',
          'lab/run/kvm1/pid', 'tests/output/junit/sanity.xml', 'plugins/modules/__pycache__/x.pyc')


def run(argv, env, cwd=ROOT):
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, timeout=300,
                          check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc.stdout


def test_build_install_doc_and_run(tmp_path, ovs_switch):
    dist = tmp_path / 'dist'
    installed = tmp_path / 'collections'
    env = ansible_env(ANSIBLE_COLLECTIONS_PATH=str(installed))
    env.pop('PYTHONPATH', None)
    run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'build', '--output-path', str(dist), ROOT],
        env)
    artifacts = list(dist.glob('cloudstack-ovs-*.tar.gz'))
    assert len(artifacts) == 1
    with tarfile.open(artifacts[0]) as tar:
        names = tar.getnames()
    assert 'MANIFEST.json' in names and 'plugins/modules/ovs_bridge.py' in names
    assert not [n for n in names if n.startswith(('.venv', '.build', 'lab/run', 'lab/out', '.git/'))
                or '__pycache__' in n or n.endswith('.pyc')], 'junk in the artifact'

    run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'install', '-p', str(installed),
         str(artifacts[0])], env)
    modules = sorted(os.path.splitext(f)[0] for f in os.listdir(os.path.join(ROOT, 'plugins', 'modules'))
                     if f.endswith('.py') and not f.startswith('_'))
    listed = json.loads(run([os.path.join(BIN, 'ansible-doc'), '-t', 'module', '-l', '-j',
                             'cloudstack.ovs'], env))
    assert sorted(n.split('.')[-1] for n in listed) == modules
    for module in modules:
        doc = json.loads(run([os.path.join(BIN, 'ansible-doc'), '-j', 'cloudstack.ovs.' + module],
                             env))['cloudstack.ovs.' + module]
        assert doc['doc']['short_description'] and doc['examples'] and doc['return'], module

    # the installed copy (not the working tree) runs against a real OVS
    out = run([os.path.join(BIN, 'ansible'), 'localhost', '-c', 'local', '-o', '-m',
               'cloudstack.ovs.ovs_bridge', '-a', 'name=br-built datapath_type=netdev db=%s'
               % ovs_switch.db], env)
    assert 'CHANGED' in out
    assert 'br-built' in ovs_switch.ovs.vsctl('list-br')


@pytest.fixture(scope='module')
def artifact(tmp_path_factory):
    """The artifact of a copy of the working tree (as ``make build`` builds it) in which runs
    left their reports."""
    tree = tmp_path_factory.mktemp('tree') / 'ovs'
    subprocess.run(['rsync', '-a', '--exclude', '.git', '--exclude', '.venv', '--exclude', '.build',
                    ROOT + '/', str(tree) + '/'], check=True, timeout=120)
    for stray in STRAYS:
        path = tree / stray
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('left by a run\n')
    dist = tmp_path_factory.mktemp('dist')
    env = ansible_env()
    env.pop('PYTHONPATH', None)
    run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'build', '--output-path', str(dist),
         str(tree)], env)
    artifacts = list(dist.glob('cloudstack-ovs-*.tar.gz'))
    assert len(artifacts) == 1
    return str(artifacts[0])


def test_artifact_ships_only_what_runs_on_a_controller_or_host(artifact):
    with tarfile.open(artifact) as tar:
        files = set(m.name for m in tar.getmembers() if m.isfile())
    unexpected = sorted(n for n in files if n not in SHIPPED_FILES and not n.startswith(SHIPPED_DIRS))
    assert not unexpected, 'not for a user\'s controller or host: %s' % unexpected
    assert not [n for n in files if n.startswith('docs/images/') or '__pycache__' in n
                or n.endswith('.pyc')]
    assert not set(STRAYS) & files
    playbooks = set(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, 'playbooks', '*.yml')))
    assert set(n for n in files if n.startswith('playbooks/')) == playbooks - LAB_PLAYBOOKS
    # nothing that runs was left out: every tracked file of plugins/, roles/, meta/ is there
    tracked = subprocess.run(['git', 'ls-files', 'plugins', 'roles', 'meta'], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.split()
    assert tracked and not set(tracked) - files
    # an ignore file for each ansible-core sanity runs on (make sanity)
    assert set(['tests/sanity/ignore-%s.txt' % v for v in ('2.16', '2.19', '2.21')]) <= files


def requires_ansible():
    with open(os.path.join(ROOT, 'meta', 'runtime.yml')) as handle:
        return yaml.safe_load(handle)['requires_ansible']


def ci(script, *args):
    proc = subprocess.run(['bash', os.path.join(ROOT, '.ci', script)] + list(args),
                          capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.strip()


@pytest.fixture(scope='module', params=sorted(CORES))
def core(request):
    """(bin directory, ansible-core version, ngine_io.cloudstack's collections path) the
    artifact is tried with."""
    requirements, python, ansible_package = CORES[request.param]
    if requirements is None:
        bindir = BIN
    else:
        args = [os.path.join(ROOT, 'tests', requirements),
                os.path.join(ROOT, '.build', 'venv-core-' + request.param)]
        if python:
            args.append(ci('core-python', python))
        bindir = os.path.join(ci('core-venv', *args), 'bin')
    version = subprocess.run([os.path.join(bindir, 'python'), '-c',
                              'import ansible.release; print(ansible.release.__version__)'],
                             capture_output=True, text=True, check=True).stdout.strip()
    if request.param == 'oldest':
        floor = re.match(r'>=\s*(\d+\.\d+)', requires_ansible())
        assert floor and version.startswith(floor.group(1) + '.'), (requires_ansible(), version)
    return bindir, version, ci('ngine-io-collection', PYTHON, ansible_package)


def test_artifact_installs_documents_and_syntax_checks(artifact, core, tmp_path):
    bindir, version, ngine_io = core
    installed = tmp_path / 'collections'
    # The installed artifact only (and ngine_io.cloudstack for zone.yml): not the working tree.
    env = ansible_env(ANSIBLE_COLLECTIONS_PATH='%s:%s' % (installed, ngine_io))
    env.pop('PYTHONPATH', None)
    env.pop('ANSIBLE_PYTHON_INTERPRETER', None)
    run([os.path.join(bindir, 'ansible-galaxy'), 'collection', 'install', '-p', str(installed),
         artifact], env)
    coll = installed / 'ansible_collections' / 'cloudstack' / 'ovs'
    plugins = dict(
        module=sorted(p.stem for p in (coll / 'plugins' / 'modules').glob('*.py') if p.stem != '__init__'),
        filter=sorted(p.stem for p in (coll / 'plugins' / 'filter').glob('*.yml')),
        role=sorted(p.name for p in (coll / 'roles').iterdir() if p.is_dir()))
    for kind, names in plugins.items():
        assert names, kind
        listed = json.loads(run([os.path.join(bindir, 'ansible-doc'), '-t', kind, '-l', '-j',
                                 'cloudstack.ovs'], env))
        assert sorted(n.split('.')[-1] for n in listed) == names, (version, kind)
        docs = json.loads(run([os.path.join(bindir, 'ansible-doc'), '-t', kind, '-j']
                              + ['cloudstack.ovs.' + n for n in names], env))
        assert sorted(docs) == ['cloudstack.ovs.' + n for n in names], (version, kind)
        for name, doc in docs.items():
            if kind == 'role':
                assert doc['entry_points']['main']['short_description'], (version, name)
            else:
                assert doc['doc']['short_description'] and doc['examples'], (version, name)
    playbooks = sorted(p.stem for p in (coll / 'playbooks').glob('*.yml'))
    assert playbooks == ['gre_mesh', 'kvm_host', 'mesh_doctor', 'zone']
    for playbook in playbooks:
        run([os.path.join(bindir, 'ansible-playbook'), '--syntax-check', '-i', 'localhost,',
             'cloudstack.ovs.' + playbook], env)
    # the shipped example inventory gives every host of the mesh what gre_mesh.yml needs
    hostvars = json.loads(run([os.path.join(bindir, 'ansible-inventory'), '-i',
                               str(coll / 'docs' / 'inventory.example.yml'), '--list'],
                              env))['_meta']['hostvars']
    assert hostvars and all(v.get('cloudstack_host_id') and v.get('cloudstack_underlay_ip')
                            and v.get('cloudstack_gre_networks') for v in hostvars.values()), hostvars
