# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The cloudstack.ovs testbed: real Open vSwitch (userspace datapath) in Linux namespaces.

* ``OvsSwitch``: one throwaway ovsdb-server + ovs-vswitchd in a network namespace of its own.
* ``Lab``: N lab hosts reachable over SSH (see ``lab.py``), used by ``make lab``, pytest and molecule.

Used as ``from testbed import Lab, OvsSwitch``: ``make venv`` puts ``tests/`` on the venv's path
(a ``.pth`` file in its site-packages), and pytest on its own (``pythonpath`` in pytest.ini).
"""

from .lab import Lab, LabHost, Vm  # noqa: F401
from .ovs import OvsInstance  # noqa: F401
from .proc import TestbedError, run, wait_for  # noqa: F401
from .switch import OvsSwitch  # noqa: F401
