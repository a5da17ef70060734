# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""A writer's OVSDB session on a Debian 12 host's own Python (python3-openvswitch 3.1,
python3-ovsdbapp 2.1): after the lock it must see the database, every time.

With ovsdbapp 2.1 the lock reply often arrived before the first dump and counted as the IDL's
first change, so the connection's start returned with every table empty: modules planned from an
empty database and the commit failed ("list index out of range"), on the bare lab hosts and the
``make ee-test`` hosts alike (OvsdbSession._wait_for_dump). Before that fix this test saw 0 rows
in 19 or 20 of 20 sessions. Skipped where that Python lacks the Debian packages (bindep.txt).
"""

import os
import subprocess

import pytest

from conftest import COLLECTIONS

HOST_PYTHON = '/usr/bin/python3'
SESSIONS = 20
# The child: the collection and this venv's ``ansible`` (for ``ansible.module_utils``) on its
# PYTHONPATH, nothing else of the venv: ovs and ovsdbapp are Debian's, from the machine's paths.
PROBE = r'''
import sys
import ovs.version
from ansible_collections.cloudstack.ovs.plugins.module_utils.ovsdb import OvsdbSession
seen = []
for _ in range(int(sys.argv[2])):
    session = OvsdbSession(db=sys.argv[1], lock=True, timeout=10)
    seen.append(len(session._rows('Open_vSwitch')))
    session.close()
print(ovs.version.VERSION, ' '.join(str(n) for n in seen))
'''


def _has_distro_ovsdbapp():
    return subprocess.run([HOST_PYTHON, '-c', 'import ovs, ovsdbapp'], capture_output=True,
                          check=False).returncode == 0


@pytest.mark.skipif(not os.access(HOST_PYTHON, os.X_OK) or not _has_distro_ovsdbapp(),
                    reason='the machine Python has no python3-ovsdbapp / python3-openvswitch')
def test_locked_session_sees_the_database(ovs_switch, tmp_path):
    import ansible
    (tmp_path / 'ansible').symlink_to(os.path.dirname(ansible.__file__))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([COLLECTIONS, str(tmp_path)]))
    proc = subprocess.run([HOST_PYTHON, '-c', PROBE, ovs_switch.db, str(SESSIONS)], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    version, *seen = proc.stdout.split()
    assert not version.startswith('4.'), 'not the distribution library: ovs %s' % version
    assert seen == ['1'] * SESSIONS, proc.stdout
