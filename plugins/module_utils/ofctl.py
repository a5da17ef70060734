# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""ovs-ofctl on a bridge's management socket, every call bounded by the module's timeout.

Flows and OpenFlow port state are not in OVSDB: ``gre_network`` writes them and
``gre_mesh_info`` reads them through ovs-ofctl. Both find the sockets the same way (the run
directory of the OVSDB socket they were given, or ``ovs_rundir``) and both must not hang on a
stopped ovs-vswitchd: ``--timeout`` makes ovs-ofctl end itself with SIGALRM, reported here as a
clear error naming the bridge. Its output is read to the end (``command_output``, not
``AnsibleModule.run_command``, which can return a slow dump's output unread).

ovs-vswitchd gives a management connection about a second (its rconn's connecting state) to
finish the OpenFlow hello, then drops it ("connection timed out" in its log): an ovs-ofctl that
was not scheduled within that second - a host at load 40 and above - fails with "connecting to
... (Broken pipe)" or "...: failed to connect to socket (Broken pipe)" before it sent any
request. That failure alone is tried again (``HELLO_ATTEMPTS``); a socket nobody listens on,
or any other failure, is not.
"""

import os
import signal
import time

from ansible_collections.cloudstack.ovs.plugins.module_utils.command_output import (
    CommandTimeout,
    run as run_command,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import OvsdbError
from ansible_collections.cloudstack.ovs.plugins.module_utils.ovsdb_options import validate_db

OFCTL_PROTOCOL = 'OpenFlow14'  # bundles need OpenFlow 1.4
PORT_MOD_PROTOCOL = 'OpenFlow10'  # a port's no-flood flag exists in OpenFlow 1.0 only
DEFAULT_RUNDIR = '/var/run/openvswitch'
# ovs-ofctl ends itself at its --timeout; this is only the bound on a process that does not
GRACE = 10
# How often a call whose connection ovs-vswitchd dropped during the OpenFlow hello is made in
# all, and the pause before each new attempt (the module docstring)
HELLO_ATTEMPTS = 3
HELLO_PAUSE = 0.5
# What ovs-ofctl prints when the connection broke while it was being opened (nothing was sent):
# "connecting to <target> (<why>)" or "<target>: failed to connect to socket (<why>)", as the
# hello failed in one step of its opening or the other
_HELLO_WHERE = ('connecting to ', 'failed to connect to socket')
_HELLO_BROKEN = ('Broken pipe', 'Connection reset by peer')


def default_rundir(db):
    """ovs-vswitchd's run directory: beside a ``unix:`` OVSDB socket, else the packaged one."""
    kind, target = validate_db(db)
    if kind == 'unix':
        return os.path.dirname(target)
    return DEFAULT_RUNDIR


def ovs_rundir(params):
    """The run directory of a module's ``ovs_rundir`` and ``db`` parameters."""
    return params['ovs_rundir'] or default_rundir(params['db'])


def hello_broken(err):
    """Whether ovs-ofctl's error says the connection broke while it was being opened."""
    return any(any(where in line for where in _HELLO_WHERE)
               and any(why in line for why in _HELLO_BROKEN)
               for line in (err or '').splitlines())


class Ofctl(object):
    """Bounded ovs-ofctl calls on the bridges of one ovs-vswitchd (``module`` finds ovs-ofctl;
    the calls do not go through it: command_output)."""

    def __init__(self, module, rundir, timeout):
        self.rundir = rundir
        self.timeout = timeout
        self.ofctl = module.get_bin_path('ovs-ofctl', required=True)

    def target(self, bridge):
        return 'unix:%s' % os.path.join(self.rundir, bridge + '.mgmt')

    def run(self, bridge, args, protocol=OFCTL_PROTOCOL, data=None):
        """``ovs-ofctl -O <protocol> --timeout=<timeout> <args>``, ``data`` on its standard
        input; (rc, out, err). Made again, up to HELLO_ATTEMPTS in all, while ovs-vswitchd drops
        the connection before the OpenFlow hello is done (the module docstring)."""
        for attempt in range(1, HELLO_ATTEMPTS):
            rc, out, err = self._run_once(bridge, args, protocol, data)
            if rc == 0 or not hello_broken(err):
                return rc, out, err
            time.sleep(HELLO_PAUSE * attempt)
        return self._run_once(bridge, args, protocol, data)

    def _run_once(self, bridge, args, protocol, data):
        try:
            rc, out, err = run_command(
                [self.ofctl, '-O', protocol, '--timeout=%d' % self.timeout] + list(args),
                data=data, timeout=self.timeout + GRACE)
        except CommandTimeout:
            rc, out, err = -signal.SIGALRM, '', ''
        except OSError as exc:
            raise OvsdbError('flows: cannot run %s on bridge %s: %s' % (self.ofctl, bridge, exc))
        if rc in (-signal.SIGALRM, 128 + signal.SIGALRM):
            raise OvsdbError('flows: no answer from ovs-vswitchd on bridge %s (%s) within %ss '
                             '(is ovs-vswitchd stopped or overloaded?)'
                             % (bridge, self.target(bridge), self.timeout))
        return rc, out, err

    def dump_flows(self, bridge, stats=False):
        """The bridge's flow table as ``dump-flows`` prints it (no names; no counters unless
        ``stats``: only with them does it print its reply's header, even for an empty table)."""
        return self.run(bridge, ['--no-names'] + ([] if stats else ['--no-stats']) +
                        ['dump-flows', self.target(bridge)])
