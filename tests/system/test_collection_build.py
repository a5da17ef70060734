# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""``ansible-galaxy collection build`` makes an artifact that installs, documents itself and works."""

import json
import os
import subprocess
import tarfile

from conftest import PYTHON, ROOT, ansible_env

BIN = os.path.dirname(PYTHON)


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
