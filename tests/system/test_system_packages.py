# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""One list of system packages: .ci/install-system-deps reads bindep.txt through
.ci/bindep-list, which must list what the bindep tool itself lists."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINDEP = os.path.join(os.path.dirname(sys.executable), 'bindep')


def _lines(cmd):
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True,
                         timeout=60).stdout
    return sorted(set(line.strip() for line in out.splitlines() if line.strip()))


def test_ci_package_list_is_bindeps_own_reading():
    for profiles in ([], ['test'], ['test', 'dpdk'], ['libvirt'], ['host'], ['controller'],
                     ['host', 'libvirt'], ['test', 'dpdk', 'controller', 'host', 'libvirt']):
        ours = _lines(['bash', '.ci/bindep-list'] + profiles)
        theirs = _lines([BINDEP, '-l', 'newline', '-f', 'bindep.txt'] + profiles)
        assert ours == theirs, profiles
    # The test machine's list carries what the README's commands and the testbed need.
    test_machine = _lines(['bash', '.ci/bindep-list', 'test', 'dpdk', 'controller', 'host',
                           'libvirt'])
    for name in ('make', 'git', 'python3-venv', 'openvswitch-switch-dpdk', 'qemu-system-x86',
                 'debootstrap', 'python3-ovsdbapp', 'python3-openvswitch', 'python3-libvirt'):
        assert name in test_machine
    # A host needs Open vSwitch and the modules' libraries, and nothing of the test machine.
    host = _lines(['bash', '.ci/bindep-list', 'host'])
    assert host == ['openvswitch-switch', 'python3-openvswitch', 'python3-ovsdbapp']


def test_install_script_has_no_list_of_its_own():
    with open(os.path.join(ROOT, '.ci', 'install-system-deps')) as handle:
        script = handle.read()
    assert 'bindep-list' in script
    assert 'openvswitch-switch' not in script
