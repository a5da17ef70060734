# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""A bare Open vSwitch in a network namespace of its own, for module tests that need one switch."""

import os
import secrets
import shutil
import tempfile

from .ovs import OvsInstance, VSWITCHD, require_tools
from .proc import remove_netns, run


class OvsSwitch(object):
    """``OvsSwitch().start()`` -> ``.ovs`` (an OvsInstance), ``.db`` for ``db=``; ``destroy()``."""

    def __init__(self, directory=None, vswitchd=VSWITCHD, name=None):
        self.dir = directory or tempfile.mkdtemp(prefix='csovs-')
        self.netns = name or 'csosw%s' % secrets.token_hex(3)
        self.ovs = OvsInstance(rundir=self.dir, prefix=['ip', 'netns', 'exec', self.netns],
                               vswitchd=vswitchd)

    @property
    def db(self):
        return self.ovs.db

    def run(self, *cmd, **kw):
        return run(['ip', 'netns', 'exec', self.netns] + list(cmd), **kw)

    def start(self, other_config=None):
        require_tools()
        os.makedirs(self.dir, exist_ok=True)
        run(['ip', 'netns', 'add', self.netns])
        try:
            run(['ip', '-n', self.netns, 'link', 'set', 'lo', 'up'])
            self.ovs.start(other_config=other_config)
        except BaseException:
            self.destroy()
            raise
        return self

    def destroy(self):
        remove_netns([self.netns], self.ovs.pids.values())
        shutil.rmtree(self.dir, ignore_errors=True)
