# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""ovs-vswitchd's control commands (what ``ovs-appctl`` sends), without an ovs-appctl process.

``ovs-appctl`` talks JSON-RPC on ovs-vswitchd's control socket, ``ovs-vswitchd.<pid>.ctl`` in
its run directory, found through the pid file. ``Appctl`` does the same, one short connection
per command, the whole exchange (connect, send, every read) bounded by the timeout, so that a
stopped or overloaded ovs-vswitchd ends in an ``OvsdbError`` naming the command instead of a
hang. Used read-only by ``gre_mesh_info`` (``ofproto/trace``, ``fdb/show``).

Standard library only (plus the error type).
"""

import json
import os
import socket
import time

from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import OvsdbError


class Appctl(object):
    """Control commands of the ovs-vswitchd of ``rundir``, each bounded by ``timeout`` seconds."""

    def __init__(self, rundir, timeout):
        self.rundir = rundir
        self.timeout = timeout

    def control_socket(self, what):
        """ovs-vswitchd's control socket, found the way ovs-appctl finds it (its pid file)."""
        try:
            with open(os.path.join(self.rundir, 'ovs-vswitchd.pid')) as handle:
                pid = int(handle.read().strip())
        except (IOError, OSError, ValueError) as exc:
            raise OvsdbError('%s: cannot find ovs-vswitchd in %s: %s' % (what, self.rundir, exc))
        return os.path.join(self.rundir, 'ovs-vswitchd.%d.ctl' % pid)

    def call(self, *args):
        """One control command (``args`` as given to ovs-appctl); its text answer.

        JSON-RPC on the control socket, as ovs-appctl sends it; the whole exchange bounded by
        the timeout. Raises ``OvsdbError`` naming the command when ovs-vswitchd cannot be
        reached, does not answer in time, or answers with an error.
        """
        what = 'ovs-appctl %s' % ' '.join(args)
        path = self.control_socket(what)
        deadline = time.monotonic() + self.timeout
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(path)
            sock.sendall(json.dumps(dict(method=args[0], params=list(args[1:]), id=0))
                         .encode('utf-8'))
            received = b''
            while True:
                sock.settimeout(max(deadline - time.monotonic(), 0.001))
                chunk = sock.recv(65536)
                if not chunk:
                    raise OvsdbError('%s: ovs-vswitchd closed %s without an answer'
                                     % (what, path))
                received += chunk
                try:
                    reply = json.JSONDecoder().raw_decode(received.decode('utf-8'))[0]
                    break
                except ValueError:  # not all of it yet
                    continue
        except socket.timeout:
            raise OvsdbError('%s: no answer from ovs-vswitchd (%s) within %ss (is it stopped or '
                             'overloaded?)' % (what, path, self.timeout))
        except (IOError, OSError) as exc:
            raise OvsdbError('%s: %s (%s)' % (what, exc, path))
        finally:
            sock.close()
        if not isinstance(reply, dict):
            raise OvsdbError('%s: unexpected answer %r' % (what, reply))
        if reply.get('error') is not None:
            raise OvsdbError('%s: %s' % (what, str(reply['error']).strip()))
        return reply.get('result') or ''
