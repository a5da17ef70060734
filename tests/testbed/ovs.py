# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""A throwaway Open vSwitch: its own database file, ovsdb-server and ovs-vswitchd.

The daemons are started the way ``ovs-ctl`` would start them, by hand: this machine kind
has neither systemd nor the openvswitch kernel module, so bridges use the userspace datapath
(``datapath_type=netdev``). Every path is this instance's own (``OVS_RUNDIR`` and friends), and
``stop()`` kills only the pids this instance recorded.

``prefix`` is the command that enters the instance's namespaces (``ip netns exec NS`` for a
bare test switch, ``nsenter -t PID -m -n -u`` for a lab host). ``inside`` paths are what the
daemons see; ``outside`` is where the same directory is seen from the test process, so a
module running here can use ``db=unix:<outside socket>``.
"""

import os

from .proc import TestbedError, kill_pids, pid_alive, read_pid, run, wait_for

SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema'
VSWITCHD = '/usr/sbin/ovs-vswitchd'
VSWITCHD_DPDK = '/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk'


class OvsInstance(object):
    """One ovsdb-server + ovs-vswitchd pair."""

    def __init__(self, rundir, prefix=(), outside_rundir=None, dbfile=None, logdir=None,
                 vswitchd=VSWITCHD):
        self.rundir = rundir                       # as the daemons see it
        self.outside_rundir = outside_rundir or rundir
        self.dbfile = dbfile or os.path.join(rundir, 'conf.db')
        self.logdir = logdir or rundir
        self.prefix = list(prefix)
        self.vswitchd = vswitchd
        self.pids = {}

    # ------------------------------------------------------------------ paths

    @property
    def sock(self):
        """The database socket as the test process reaches it."""
        return os.path.join(self.outside_rundir, 'db.sock')

    @property
    def db(self):
        return 'unix:' + self.sock

    @property
    def inside_db(self):
        return 'unix:' + os.path.join(self.rundir, 'db.sock')

    def _pidfile(self, daemon):
        return os.path.join(self.outside_rundir, daemon + '.pid')

    def _env_cmd(self, cmd):
        env = ['env', 'OVS_RUNDIR=%s' % self.rundir, 'OVS_DBDIR=%s' % os.path.dirname(self.dbfile),
               'OVS_LOGDIR=%s' % self.logdir]
        return self.prefix + env + list(cmd)

    def run(self, *cmd, **kw):
        """Run a command in the instance's namespaces with its OVS_* paths."""
        return run(self._env_cmd(cmd), **kw)

    # ------------------------------------------------------------------ control

    def vsctl(self, *args, **kw):
        return self.run('ovs-vsctl', '--db=' + self.inside_db, '--timeout=20', *args, **kw).stdout

    def ofctl(self, *args, **kw):
        return self.run('ovs-ofctl', *args, **kw).stdout

    def appctl(self, *args, **kw):
        return self.run('ovs-appctl', *args, **kw).stdout

    def get(self, table, record, column):
        return self.vsctl('--if-exists', 'get', table, record, column).strip()

    # ------------------------------------------------------------------ lifecycle

    def start(self, other_config=None):
        """Create the database (if missing) and start both daemons; wait until they answer."""
        self.run('mkdir', '-p', self.rundir, os.path.dirname(self.dbfile), self.logdir)
        if self.run('test', '-e', self.dbfile, check=False).returncode != 0:
            self.run('ovsdb-tool', 'create', self.dbfile, SCHEMA)
        self.start_ovsdb()
        self.vsctl('--no-wait', 'init')
        # ovs-ctl records the versions at start; ovs_info reads them from here.
        version = self.run(self.vswitchd, '--version').stdout.split('\n')[0].split()[-1]
        schema = self.run('ovsdb-tool', 'schema-version', SCHEMA).stdout.strip()
        self.vsctl('--no-wait', 'set', 'Open_vSwitch', '.', 'ovs_version="%s"' % version,
                   'db_version="%s"' % schema)
        if other_config:
            self.vsctl('--no-wait', 'set', 'Open_vSwitch', '.',
                       *['other_config:%s="%s"' % kv for kv in sorted(other_config.items())])
        self.start_vswitchd()
        return self

    def start_ovsdb(self):
        self.run('ovsdb-server', self.dbfile,
                 '--remote=punix:' + os.path.join(self.rundir, 'db.sock'),
                 '--remote=db:Open_vSwitch,Open_vSwitch,manager_options',
                 '--pidfile', '--detach', '--log-file', '--no-chdir')
        self.pids['ovsdb-server'] = wait_for(lambda: read_pid(self._pidfile('ovsdb-server')),
                                             what='ovsdb-server pid file in %s' % self.rundir)
        wait_for(lambda: os.path.exists(self.sock), what='socket %s' % self.sock)

    def start_vswitchd(self, timeout=60):
        self.run(self.vswitchd, self.inside_db, '--pidfile', '--detach', '--log-file',
                 '--no-chdir', timeout=timeout)
        self.pids['ovs-vswitchd'] = wait_for(lambda: read_pid(self._pidfile('ovs-vswitchd')),
                                             what='ovs-vswitchd pid file in %s' % self.rundir)
        # ovs-vswitchd has read the database once it recorded the interface types it supports.
        wait_for(lambda: self.get('Open_vSwitch', '.', 'iface_types') not in ('', '[]'),
                 timeout=timeout, what='ovs-vswitchd to configure itself')

    def stop_daemon(self, daemon):
        pid = self.pids.pop(daemon, None) or read_pid(self._pidfile(daemon))
        if pid:
            kill_pids([pid])

    def stop_vswitchd(self):
        self.stop_daemon('ovs-vswitchd')

    def restart(self):
        """Stop and start both daemons (the database file stays): what a host reboot does to OVS."""
        self.stop_daemon('ovs-vswitchd')
        self.stop_daemon('ovsdb-server')
        self.start_ovsdb()
        self.start_vswitchd()

    def stop(self):
        self.stop_daemon('ovs-vswitchd')
        self.stop_daemon('ovsdb-server')

    def alive(self):
        return all(pid_alive(p) for p in self.pids.values()) and len(self.pids) == 2

    # ------------------------------------------------------------------ helpers for tests

    def wait_ofport(self, iface, timeout=20):
        def ofport():
            value = self.get('Interface', iface, 'ofport')
            return value.lstrip('-').isdigit() and int(value) > 0 and int(value)
        return wait_for(ofport, timeout=timeout, what='ofport of %s' % iface)

    def flows(self, bridge):
        """The bridge's flows, without counters, as ``ovs-ofctl dump-flows`` prints them."""
        out = self.ofctl('dump-flows', bridge, '--no-stats')
        return [line.strip() for line in out.splitlines() if line.strip() and 'NXST' not in line]

    def log_tail(self, daemon='ovs-vswitchd', lines=40):
        path = os.path.join(self.outside_rundir if self.logdir == self.rundir else self.logdir,
                            daemon + '.log')
        try:
            with open(path) as handle:
                return ''.join(handle.readlines()[-lines:])
        except OSError as exc:
            return '(no log: %s)' % exc


def dpdk_vswitchd_link(directory):
    """``<directory>/bin/ovs-vswitchd``, a link to the DPDK build.

    OVS names its pid file, log and control socket after ``argv[0]``; Debian's alternatives make
    ``/usr/sbin/ovs-vswitchd`` such a link on a DPDK host, and this does the same without
    touching the machine's alternatives.
    """
    bindir = os.path.join(directory, 'bin')
    os.makedirs(bindir, exist_ok=True)
    link = os.path.join(bindir, 'ovs-vswitchd')
    if not os.path.islink(link):
        os.symlink(VSWITCHD_DPDK, link)
    return link


def require_tools():
    """Fail early and clearly when Open vSwitch is not installed."""
    for tool in ('ovsdb-server', 'ovsdb-tool', 'ovs-vsctl', 'ovs-ofctl', VSWITCHD):
        found = tool if os.path.isabs(tool) else None
        if found is None:
            for d in os.environ.get('PATH', '').split(os.pathsep) + ['/usr/sbin', '/usr/bin']:
                if os.access(os.path.join(d, tool), os.X_OK):
                    found = os.path.join(d, tool)
                    break
        if not found or not os.access(found, os.X_OK):
            raise TestbedError('%s is not installed (run: bash .ci/install-system-deps)' % tool)
