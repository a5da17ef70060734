# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Lab hosts: small "KVM hosts" built from Linux namespaces, reachable over SSH.

A lab host is either *bare* (the default of ``make lab``) or shares the machine's ``/usr``
(fleets and most system tests, for memory and speed):

* **bare**: its own root filesystem, a copy-on-write overlay whose lower layer is the cached
  Debian base of ``rootfs.py`` (debootstrap minbase plus python3 and openssh-server, nothing
  else) and whose upper layer is ``<dir>/kvmN/upper``. The host's processes (its sshd, and so
  everything Ansible runs) are chrooted into it: ``/usr/bin/python3`` is the host's own, and a
  package the roles install is installed into the host, by ``apt-get``, from Debian's mirror
  through the lab's package proxy (``aptproxy.py``: the switch's 192.0.2.1:3142, only the
  machine's Debian mirror, ``.deb`` files cached under the testbed cache). ``/proc`` and
  ``/sys`` are mounted afresh (``/sys`` shows the host's own network devices), ``/dev`` is the
  machine's (``/dev/net/tun`` for the userspace datapath, ``/dev/hugepages`` for DPDK) and
  ``/run`` is ``<dir>/kvmN/run``. There is no init system: the base's ``policy-rc.d`` keeps
  package scripts from starting services, and the openvswitch role starts OVS itself (ovs-ctl).
* **shared /usr**: the machine's root, with the overlay and binds below.

Each lab host is

* a network namespace with two NICs: ``eth0`` on the management/underlay network
  192.0.2.0/24 and ``eth1`` on the guest/public network 198.51.100.0/24, plus a default route
  via 192.0.2.1, as a real host's NICs would be before ``cloudbr0``/``cloudbr1`` exist;
* a mount and UTS namespace (its own hostname); with a shared ``/usr``, ``/etc`` is an overlay (the host's
  writes land in its own upper directory, the machine's ``/etc`` stays untouched) and ``/run``,
  ``/var/lib/openvswitch`` and ``/var/log/openvswitch`` are its own directories. So
  ``/etc/cloudstack``, ``/etc/openvswitch``, ``/var/run/openvswitch``, ``/etc/modprobe.d`` and
  ``/etc/network`` are per host, at the paths CloudStack's agent and the roles use;
* its own ``sshd`` (key-only root login with the lab's key) and, when asked, its own
  ``ovsdb-server``/``ovs-vswitchd`` at the default paths.

A "switch" namespace holds a Linux bridge per network and the addresses 192.0.2.1 and
198.51.100.1; Ansible reaches the hosts through it (``ProxyCommand ip netns exec <switch> nc``),
so no address is added to the machine's own namespace and several labs can run side by side.

Everything is recorded in ``<dir>/state.json``; ``destroy()`` (also from another process, by
``Lab.load(dir).destroy()``) kills the processes of the lab's namespaces, by pid, and deletes
the namespaces and the directory. It never touches anything it did not create.
"""

import json
import os
import secrets
import shlex
import shutil
import subprocess
import sys
import time

from . import rootfs
from .aptproxy import PORT as PROXY_PORT
from .ovs import OvsInstance, VSWITCHD, require_tools
from .proc import (TestbedError, kill_pids, netns_pids, pid_alive, read_pid, remove_netns, run,
                   wait_for)

MGMT_NET = '192.0.2.%d'
GUEST_NET = '198.51.100.%d'
GATEWAY_INDEX = 1
SSHD = '/usr/sbin/sshd'
# Every lab host runs modules with its own system Python, never the controller's.
HOST_PYTHON = '/usr/bin/python3'
# Inside a bare host: the sshd config and host key the lab writes into its upper layer.
BARE_SSHD_CONFIG = '/etc/ssh/sshd_config.lab'
BARE_HOST_KEY = '/etc/ssh/ssh_host_ed25519_key'
# Host addresses are 192.0.2.(10 + index): one /24 holds 244 hosts.
MAX_HOSTS = 244
# What one lab host costs, measured (docs/testbed.md, "Fleet-sized labs"): keeper, sshd with
# the controller's persistent sessions, ovsdb-server and a userspace ovs-vswitchd: 44-50 MiB with
# 8 networks of 31 tunnels, 73 MiB on average and 76 MiB at most with 8 networks of 127 tunnels
# (128 hosts, 9,391 MiB in all); with room for larger meshes.
HOST_MIB = 96
HOST_MIB_NO_OVS = 8
# What a fleet's ovs-vswitchd gets in other_config (bench/fleet.py, make lab HOSTS=N): interface
# statistics written to OVSDB once a minute instead of every 5 s. Measured (docs/testbed.md,
# "Fleet-sized labs"): one idle switch with 1,016 tunnel ports used 0.0013 cores with the
# defaults, 0.0008 with this; the whole 128-host lab (1,016 ports a host) idled at 0.21 cores
# of 2 with the defaults: idle switches do not swamp the measurements either way.
FLEET_OVS_CONFIG = {'stats-update-interval': '60000'}
# Left free for everything else on the machine (ansible-playbook with its 32 forks, the kernel,
# tests).
RESERVE_MIB = 2048


def mem_available_mib():
    """MemAvailable of /proc/meminfo, in MiB."""
    with open('/proc/meminfo') as handle:
        for line in handle:
            if line.startswith('MemAvailable:'):
                return int(line.split()[1]) // 1024
    raise TestbedError('/proc/meminfo has no MemAvailable')


def needed_mib(hosts, start_ovs=True):
    return hosts * (HOST_MIB if start_ovs else HOST_MIB_NO_OVS) + RESERVE_MIB


def check_capacity(hosts, start_ovs=True, available_mib=None):
    """Refuse, before anything is created, a lab that does not fit this machine."""
    if hosts < 1 or hosts > MAX_HOSTS:
        raise TestbedError('hosts=%d: a lab has 1 to %d hosts (one /24 of addresses)'
                           % (hosts, MAX_HOSTS))
    available = mem_available_mib() if available_mib is None else available_mib
    needed = needed_mib(hosts, start_ovs)
    if needed > available:
        per_host = HOST_MIB if start_ovs else HOST_MIB_NO_OVS
        fits = max(0, (available - RESERVE_MIB) // per_host)
        raise TestbedError(
            'hosts=%d does not fit: %d hosts x %d MiB + %d MiB reserve = %d MiB, but MemAvailable '
            'is %d MiB (at most %d hosts here); nothing was started'
            % (hosts, hosts, per_host, RESERVE_MIB, needed, available, fits))
    return needed


def rss_kib(pid):
    """VmRSS of a process in KiB (0 when it is gone or a kernel thread)."""
    try:
        with open('/proc/%d/status' % pid) as handle:
            for line in handle:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class Vm(object):
    """A stand-in for a guest: a namespace with one veth NIC plugged into an OVS bridge."""

    def __init__(self, host, netns, ip, port):
        self.host = host
        self.netns = netns
        self.ip = ip
        self.port = port

    def run(self, *cmd, **kw):
        return run(['ip', 'netns', 'exec', self.netns] + list(cmd), **kw)

    def ping(self, ip, count=2, timeout=6):
        """True when ``ip`` answers; the first packet also resolves ARP across the mesh."""
        proc = self.run('ping', '-n', '-c', str(count), '-i', '0.2', '-W', '2', '-w', str(timeout),
                        ip, check=False, timeout=timeout + 5)
        return proc.returncode == 0


class LabHost(object):
    """One lab host (see the module docstring)."""

    def __init__(self, lab, index, state=None):
        state = state or {}
        self.lab = lab
        self.index = index
        self.name = 'kvm%d' % index
        self.host_id = index
        self.mgmt_ip = MGMT_NET % (10 + index)
        self.guest_ip = GUEST_NET % (10 + index)
        self.netns = '%s-%s' % (lab.prefix, self.name)
        self.root = os.path.join(lab.dir, self.name)
        self.bare = lab.bare
        self.keeper_pid = state.get('keeper_pid')
        self.sshd_pid = state.get('sshd_pid')
        self.vms = state.get('vms', [])
        self.ovs = OvsInstance(rundir='/run/openvswitch',
                               outside_rundir=os.path.join(self.root, 'run', 'openvswitch'),
                               dbfile='/etc/openvswitch/conf.db', logdir='/var/log/openvswitch',
                               prefix=self.prefix)

    # ------------------------------------------------------------------ entering the host

    @property
    def prefix(self):
        # A bare host's processes also take the keeper's root (the host's own filesystem).
        root = ['-r', '-w'] if self.bare else []
        return ['nsenter', '-t', str(self.keeper_pid or 0), '-m', '-n', '-u'] + root + ['--']

    def run(self, *cmd, **kw):
        """Run a command on the host (its network, mount and UTS namespaces)."""
        return run(self.prefix + list(cmd), **kw)

    def sh(self, script, **kw):
        return self.run('sh', '-c', script, **kw)

    def path(self, inside):
        """Where the host's ``/etc/...`` or ``/run/...`` file is seen from the test process."""
        return '/proc/%d/root%s' % (self.keeper_pid, inside)

    def state(self):
        return dict(keeper_pid=self.keeper_pid, sshd_pid=self.sshd_pid, vms=self.vms)

    # ------------------------------------------------------------------ building it

    def create(self):
        subs = (('upper', 'work', 'root') if self.bare
                else ('etc-upper', 'etc-work', 'var-lib-ovs', 'var-log-ovs'))
        for sub in subs + ('run/openvswitch', 'run/sshd'):
            os.makedirs(os.path.join(self.root, sub), exist_ok=True)
        os.chmod(os.path.join(self.root, 'run', 'sshd'), 0o755)
        if self.bare:
            self._seed_upper()
        run(['ip', 'netns', 'add', self.netns])
        self.lab.record()
        sw = self.lab.switch_ns
        for nic, lan, addr in (('eth0', 'lan0', self.mgmt_ip), ('eth1', 'lan1', self.guest_ip)):
            peer = '%s-%s' % (self.name, nic)
            run(['ip', '-n', self.netns, 'link', 'add', nic, 'type', 'veth', 'peer', 'name', peer,
                 'netns', sw])
            run(['ip', '-n', sw, 'link', 'set', peer, 'master', lan, 'up'])
            run(['ip', '-n', self.netns, 'addr', 'add', addr + '/24', 'dev', nic])
            run(['ip', '-n', self.netns, 'link', 'set', nic, 'up'])
        run(['ip', '-n', self.netns, 'link', 'set', 'lo', 'up'])
        run(['ip', '-n', self.netns, 'route', 'add', 'default', 'via', MGMT_NET % GATEWAY_INDEX])

        # The keeper holds the host's mount and UTS namespaces open; everything else on the host
        # is started with nsenter into the keeper's namespaces.
        if self.bare:
            # / is the overlay; the keeper chroots into it, and nsenter -r follows it there.
            mounts = [
                'mount -t overlay overlay -o lowerdir={base},upperdir={r}/upper,workdir={r}/work '
                '{r}/root',
                'mount -t proc proc {r}/root/proc',
                'mount -t sysfs sysfs {r}/root/sys',
                'mount --rbind /dev {r}/root/dev',
                'mount --bind {r}/run {r}/root/run',
                'hostname {name}',
                'exec chroot {r}/root sleep infinity',
            ]
        else:
            mounts = [
                'mount -t overlay overlay -o lowerdir=/etc,upperdir={r}/etc-upper,'
                'workdir={r}/etc-work /etc',
                'mount --bind {r}/run /run',
                'mount --bind {r}/var-lib-ovs /var/lib/openvswitch',
                'mount --bind {r}/var-log-ovs /var/log/openvswitch',
                'hostname {name}',
                'echo {name} > /etc/hostname',
                'exec sleep infinity',
            ]
        mounts = ' && '.join(mounts).format(r=self.root, name=self.name, base=self.lab.base)
        keeper = subprocess.Popen(
            ['ip', 'netns', 'exec', self.netns, 'unshare', '--mount', '--uts',
             '--propagation', 'private', 'sh', '-c', mounts],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True)
        self.keeper_pid = keeper.pid
        self.ovs.prefix = self.prefix
        self.lab.record()

        def mounted():
            if keeper.poll() is not None:
                raise TestbedError('%s: setting up mounts failed: %s'
                                   % (self.name, keeper.stderr.read().decode()))
            return os.path.exists(self.path('/run/sshd')) and \
                run(self.prefix + ['hostname'], check=False).stdout.strip() == self.name
        wait_for(mounted, what='%s mount namespace' % self.name)
        self.start_sshd()

    def _seed_upper(self):
        """What a bare host has on top of the base before it starts: its name, the lab's SSH
        key for root, sshd's config and host key, and apt's way to the mirror (the proxy)."""
        ssh = self.lab.ssh_dir
        upper = os.path.join(self.root, 'upper')

        def put(path, text, mode=0o644):
            full = os.path.join(upper, path.lstrip('/'))
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, 'w') as handle:
                handle.write(text)
            os.chmod(full, mode)

        def read(name):
            with open(os.path.join(ssh, name)) as handle:
                return handle.read()

        put('/etc/hostname', self.name + '\n')
        put('/etc/hosts', '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\t\tlocalhost ip6-localhost '
            'ip6-loopback\n' % self.name)
        put('/root/.ssh/authorized_keys', read('authorized_keys'), 0o600)
        os.chmod(os.path.join(upper, 'root'), 0o700)
        os.chmod(os.path.join(upper, 'root', '.ssh'), 0o700)
        put(BARE_HOST_KEY, read('host_key'), 0o600)
        put(BARE_SSHD_CONFIG, self.lab.sshd_config('.ssh/authorized_keys'))
        put('/etc/apt/apt.conf.d/01cso-lab-proxy',
            '// cloudstack.ovs lab: Debian\'s mirror through the lab\'s package proxy (the '
            'switch)\nAcquire::http::Proxy "http://%s:%d";\n'
            % (MGMT_NET % GATEWAY_INDEX, PROXY_PORT))

    def start_sshd(self):
        ssh = self.lab.ssh_dir
        if self.bare:
            self.run(SSHD, '-f', BARE_SSHD_CONFIG, '-o', 'PidFile=/run/sshd.pid',
                     '-h', BARE_HOST_KEY)
        else:
            self.run(SSHD, '-f', os.path.join(ssh, 'sshd_config'),
                     '-o', 'PidFile=/run/sshd.pid', '-h', os.path.join(ssh, 'host_key'))
        self.sshd_pid = wait_for(lambda: read_pid(self.path('/run/sshd.pid')),
                                 what='%s sshd pid file' % self.name)
        self.lab.record()

    def start_ovs(self, vswitchd=VSWITCHD, other_config=None):
        """Start OVS the way a packaged host runs it (default paths inside the host)."""
        self.ovs.vswitchd = vswitchd
        self.ovs.start(other_config=other_config)
        return self.ovs

    def uplink_to_bridge(self, bridge='cloudbr0', nic='eth0', datapath_type='netdev'):
        """Move the NIC's address and default route onto an OVS bridge with the NIC as its port.

        Done by hand, for tests that need an underlay on OVS without running the roles:
        userspace GRE tunnels route through the bridge that holds the local address.
        """
        cidr = (self.mgmt_ip if nic == 'eth0' else self.guest_ip) + '/24'
        # The bridge takes the NIC's MAC, as the cloudbr role does: the neighbours' ARP caches
        # stay right, and TCP (SSH) to the host keeps working once the address has moved.
        mac = self.nic_mac(nic)
        self.ovs.vsctl('--may-exist', 'add-br', bridge, '--', 'set', 'Bridge', bridge,
                       'datapath_type=%s' % datapath_type, 'other_config:hwaddr="%s"' % mac,
                       '--', '--may-exist', 'add-port', bridge, nic)
        script = ('ip addr del {cidr} dev {nic} 2>/dev/null; ip link set {br} up; '
                  'ip addr replace {cidr} dev {br}').format(cidr=cidr, nic=nic, br=bridge)
        if nic == 'eth0':
            script += '; ip route replace default via %s dev %s' % (MGMT_NET % GATEWAY_INDEX, bridge)
        self.sh(script)

    def nic_mac(self, nic='eth0'):
        """The NIC's MAC: after ``uplink_to_bridge`` also the bridge's, the address's owner."""
        return self.run('cat', '/sys/class/net/%s/address' % nic).stdout.strip()

    def fill_neighbour_cache(self, neighbours, bridge='cloudbr0'):
        """Put ``neighbours`` (address, MAC) into ovs-vswitchd's tunnel neighbour cache
        (``tnl/neigh/set``), as the peers' traffic would have on a zone: a fresh lab has had
        none, and without an entry native tunnel routing has no neighbour to send to, so
        ``ofproto/trace`` of a broadcast shows no tunnel copy for that peer (the doctor's
        trace-broadcast) until an ARP reply comes, as on a real host that has not talked to
        its peers yet. Not by ARP: every host's requests reach every host, and at 128 hosts
        their 2 million copies through the userspace datapaths left 9,680 of the 16,256
        entries unfilled after minutes. Entries age as learnt ones do (``tnl/neigh/aging``,
        15 minutes idle). One shell in the host's namespaces for all of them, not a process
        chain (namespaces, environment) per entry: 16,256 entries at 128 hosts."""
        script = ''.join('ovs-appctl tnl/neigh/set %s %s %s\n' % (
            shlex.quote(bridge), shlex.quote(address), shlex.quote(mac))
            for address, mac in neighbours)
        if script:
            self.ovs.run('sh', '-ec', script)

    def add_vm(self, bridge, name, ip_cidr):
        """A "VM": its own namespace, a veth whose host end is a port of ``bridge``."""
        netns = '%s-%s-%s' % (self.lab.prefix, self.name, name)
        port = 'v%s%s' % (self.index, name)[-13:]
        run(['ip', 'netns', 'add', netns])
        self.vms.append(netns)
        self.lab.record()
        run(['ip', '-n', netns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', port,
             'netns', self.netns])
        run(['ip', '-n', netns, 'addr', 'add', ip_cidr, 'dev', 'eth0'])
        run(['ip', '-n', netns, 'link', 'set', 'eth0', 'up'])
        run(['ip', '-n', netns, 'link', 'set', 'lo', 'up'])
        self.run('ip', 'link', 'set', port, 'up')
        self.ovs.vsctl('--may-exist', 'add-port', bridge, port)
        return Vm(self, netns, ip_cidr.split('/')[0], port)

    # ------------------------------------------------------------------ tearing down

    def namespaces(self):
        return [self.netns] + list(self.vms)

    def memory(self):
        """{process name: RSS in KiB} of the daemons living in the host's network namespace."""
        out = {}
        for pid in netns_pids(self.netns):
            try:
                with open('/proc/%d/comm' % pid) as handle:
                    name = handle.read().strip()
            except OSError:
                continue
            out[name] = out.get(name, 0) + rss_kib(pid)
        return out

    def destroy(self):
        remove_netns(self.namespaces(), [self.keeper_pid, self.sshd_pid])


class Lab(object):
    """N lab hosts on one switch; see the module docstring."""

    def __init__(self, directory, hosts=3, prefix=None, state=None, bare=False, cache=None):
        self.dir = os.path.abspath(directory)
        state = state or {}
        self.prefix = state.get('prefix') or prefix or 'cso%s' % secrets.token_hex(3)
        self.bare = state.get('bare', bare)
        self.cache = state.get('cache') or (rootfs.cache_dir(cache) if self.bare else None)
        self.base = state.get('base')
        self.proxy_pid = state.get('proxy_pid')
        self.python = HOST_PYTHON
        self.switch_ns = '%s-sw' % self.prefix
        self.ssh_dir = os.path.join(self.dir, 'ssh')
        self.created = state.get('created', False)
        host_states = state.get('hosts', {})
        count = len(host_states) or hosts
        self.hosts = [LabHost(self, i, host_states.get('kvm%d' % i)) for i in range(1, count + 1)]

    # ------------------------------------------------------------------ state on disk

    @property
    def state_file(self):
        return os.path.join(self.dir, 'state.json')

    def record(self):
        os.makedirs(self.dir, exist_ok=True)
        state = dict(prefix=self.prefix, created=self.created, bare=self.bare, cache=self.cache,
                     base=self.base, proxy_pid=self.proxy_pid,
                     hosts=dict((h.name, h.state()) for h in self.hosts))
        tmp = self.state_file + '.tmp'
        with open(tmp, 'w') as handle:
            json.dump(state, handle, indent=1)
        os.rename(tmp, self.state_file)

    @classmethod
    def load(cls, directory):
        path = os.path.join(os.path.abspath(directory), 'state.json')
        if not os.path.exists(path):
            return None
        with open(path) as handle:
            return cls(directory, state=json.load(handle))

    def alive(self):
        return (self.created and (not self.bare or pid_alive(self.proxy_pid))
                and all(pid_alive(h.keeper_pid) and pid_alive(h.sshd_pid) for h in self.hosts))

    # ------------------------------------------------------------------ building

    def create(self, start_ovs=False, other_config=None):
        """Build the lab. Bare hosts get Open vSwitch from the roles, so ``start_ovs`` is for
        hosts that share the machine's /usr; ``other_config`` goes into each host's
        ``Open_vSwitch`` row before ovs-vswitchd starts (``FLEET_OVS_CONFIG`` for fleets)."""
        check_capacity(len(self.hosts), start_ovs)
        if self.bare and start_ovs:
            raise TestbedError('bare lab hosts get Open vSwitch from the roles (kvm_host.yml); '
                               'start_ovs is for hosts that share the machine\'s /usr')
        if not self.bare:
            require_tools()
        for tool in ((SSHD,) if not self.bare else ()) + ('/usr/bin/nc',):
            if not os.access(tool, os.X_OK):
                raise TestbedError('%s is not installed (run: bash .ci/install-system-deps)' % tool)
        os.makedirs(self.dir, exist_ok=True)
        self.record()
        try:
            if self.bare:
                self.base = rootfs.debian_base(self.cache)
                self.record()
            self._create_ssh()
            self._create_switch()
            if self.bare:
                self._start_proxy()
            for host in self.hosts:
                host.create()
                if start_ovs:
                    host.start_ovs(other_config=other_config)
            self.created = True
            self.record()
            self.wait_ssh()
        except BaseException:
            self.destroy()
            raise
        return self

    def _create_ssh(self):
        os.makedirs(self.ssh_dir, exist_ok=True)
        key = os.path.join(self.ssh_dir, 'id_ed25519')
        if not os.path.exists(key):
            run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'cloudstack.ovs lab', '-f', key])
        host_key = os.path.join(self.ssh_dir, 'host_key')
        if not os.path.exists(host_key):
            run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', host_key])
        shutil.copy(key + '.pub', os.path.join(self.ssh_dir, 'authorized_keys'))
        with open(os.path.join(self.ssh_dir, 'sshd_config'), 'w') as handle:
            handle.write(self.sshd_config(os.path.join(self.ssh_dir, 'authorized_keys')))

    def sshd_config(self, authorized_keys):
        return '\n'.join([
            '# sshd of a cloudstack.ovs lab host (started inside the host\'s namespaces)',
            'Port 22',
            'ListenAddress 0.0.0.0',
            'AuthorizedKeysFile %s' % authorized_keys,
            'PermitRootLogin prohibit-password',
            'PasswordAuthentication no',
            'KbdInteractiveAuthentication no',
            'UsePAM no',
            'StrictModes no',
            'UseDNS no',
            'PrintMotd no',
            'AcceptEnv LANG LC_*',
            'Subsystem sftp internal-sftp',
            'MaxStartups 50',
            'MaxSessions 50',
            ''])

    def _create_switch(self):
        sw = self.switch_ns
        run(['ip', 'netns', 'add', sw])
        self.record()
        run(['ip', '-n', sw, 'link', 'set', 'lo', 'up'])
        for lan, addr in (('lan0', MGMT_NET % GATEWAY_INDEX), ('lan1', GUEST_NET % GATEWAY_INDEX)):
            run(['ip', '-n', sw, 'link', 'add', lan, 'type', 'bridge'])
            run(['ip', '-n', sw, 'addr', 'add', addr + '/24', 'dev', lan])
            run(['ip', '-n', sw, 'link', 'set', lan, 'up'])

    @property
    def proxy_log(self):
        return os.path.join(self.dir, 'apt-proxy.log')

    def _start_proxy(self):
        """The package proxy (aptproxy.py) on the switch's 192.0.2.1:3142, in the machine's
        namespace for its way out, allowing only the machine's Debian mirror hosts."""
        pidfile = os.path.join(self.dir, 'apt-proxy.pid')
        env = dict(os.environ)
        tests = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env['PYTHONPATH'] = os.pathsep.join([tests] + [p for p in env.get('PYTHONPATH', '').split(
            os.pathsep) if p])
        with open(os.path.join(self.dir, 'apt-proxy.err'), 'w') as err:
            proc = subprocess.Popen(
                [sys.executable, '-m', 'testbed.aptproxy', '--netns', self.switch_ns,
                 '--listen', '%s:%d' % (MGMT_NET % GATEWAY_INDEX, PROXY_PORT),
                 '--cache', os.path.join(self.cache, 'apt'), '--log', self.proxy_log,
                 '--pidfile', pidfile, '--allow'] + rootfs.mirror_hosts(),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=env,
                start_new_session=True)
        self.proxy_pid = proc.pid
        self.record()

        def listening():
            if proc.poll() is not None:
                with open(os.path.join(self.dir, 'apt-proxy.err')) as handle:
                    raise TestbedError('the lab\'s package proxy exited: %s' % handle.read())
            return read_pid(pidfile) and self.switch_run(
                'nc', '-z', '-w', '1', MGMT_NET % GATEWAY_INDEX, str(PROXY_PORT),
                check=False).returncode == 0
        wait_for(listening, what='the package proxy on %s:%d' % (MGMT_NET % GATEWAY_INDEX,
                                                                 PROXY_PORT))

    def proxy_stats(self):
        """{'HIT'|'MISS'|'PASS'|'DENY': (requests, bytes)} from the package proxy's log."""
        stats = {}
        try:
            with open(self.proxy_log) as handle:
                for line in handle:
                    words = line.split()
                    if len(words) >= 5:
                        count, size = stats.get(words[1], (0, 0))
                        stats[words[1]] = (count + 1, size + int(words[3]))
        except (OSError, ValueError):
            pass
        return stats

    def wait_ssh(self, timeout=30):
        for host in self.hosts:
            wait_for(lambda: self.switch_run('nc', '-z', '-w', '1', host.mgmt_ip, '22',
                                             check=False).returncode == 0,
                     timeout=timeout, what='sshd of %s' % host.name)

    # ------------------------------------------------------------------ using it

    def switch_run(self, *cmd, **kw):
        """Run a command in the switch namespace (where tcpdump sees the underlay)."""
        return run(['ip', 'netns', 'exec', self.switch_ns] + list(cmd), **kw)

    def ssh_args(self):
        return ['-i', os.path.join(self.ssh_dir, 'id_ed25519'), '-o', 'BatchMode=yes',
                '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
                '-o', 'LogLevel=ERROR',
                '-o', 'ProxyCommand=ip netns exec %s nc %%h %%p' % self.switch_ns]

    def ssh(self, host, command, check=True, timeout=60):
        """Run ``command`` on ``host`` over SSH, as Ansible reaches it."""
        return run(['ssh'] + self.ssh_args() + ['root@' + host.mgmt_ip, command], check=check,
                   timeout=timeout)

    def inventory(self, extra_host_vars=None):
        """The inventory as a dict (write it with ``write_inventory``). Modules run with each
        host's own ``/usr/bin/python3`` (``HOST_PYTHON``), as on a real host."""
        hosts = {}
        for host in self.hosts:
            hvars = dict(ansible_host=host.mgmt_ip, cloudstack_host_id=host.host_id,
                         cloudstack_underlay_ip=host.mgmt_ip, lab_guest_ip=host.guest_ip,
                         lab_netns=host.netns)
            hvars.update((extra_host_vars or {}).get(host.name, {}))
            hosts[host.name] = hvars
        ssh_common = ' '.join(a if ' ' not in a else '"%s"' % a for a in self.ssh_args()[2:])
        return {'all': {
            'vars': dict(ansible_user='root', ansible_python_interpreter=self.python,
                         ansible_ssh_private_key_file=os.path.join(self.ssh_dir, 'id_ed25519'),
                         ansible_ssh_common_args=ssh_common,
                         ansible_ssh_pipelining=True,
                         ansible_control_path_dir=os.path.join(self.dir, 'cp'),
                         lab_switch_netns=self.switch_ns),
            'children': {'kvm_hosts': {'hosts': hosts}}}}

    def write_inventory(self, path, extra_host_vars=None):
        import yaml
        with open(path, 'w') as handle:
            handle.write('# Generated by the cloudstack.ovs testbed for lab %s; not committed.\n'
                         % self.prefix)
            yaml.safe_dump(self.inventory(extra_host_vars), handle, sort_keys=False)
        return path

    def write_mesh_inventory(self, path, keys):
        """An inventory for playbooks/gre_mesh.yml: every host carries the networks ``keys`` on
        the userspace datapath."""
        return self.write_inventory(path, extra_host_vars=dict(
            (host.name, dict(cloudstack_gre_networks=list(keys),
                             cloudstack_gre_datapath_type='netdev'))
            for host in self.hosts))

    def add_mesh_vms(self, vm_net):
        """One VM per host and network: ``vm_net`` maps a key to an address pattern (``%d`` is
        the host index, the VM gets a /24) and the VM is a port of ``OVSTunnel<key>``.

        First the underlay address moves onto ``cloudbr0``, as the cloudbr role leaves it:
        userspace GRE leaves through the OVS bridge that holds the tunnel endpoint. Call it after
        the playbooks ran over SSH: on this testbed TCP does not pass a netdev uplink bridge,
        while ARP and ICMP inside GRE do. Returns ``{(host index, key): Vm}``.
        """
        for host in self.hosts:
            host.uplink_to_bridge('cloudbr0', 'eth0')
        vms = {}
        for host in self.hosts:
            for key, pattern in sorted(vm_net.items()):
                vms[host.index, key] = host.add_vm('OVSTunnel%d' % key, 'n%d' % key,
                                                   pattern % host.index + '/24')
        return vms

    def tcpdump(self, lan='lan0', count=20, timeout=10, bpf='ip proto 47'):
        """Start a capture on the switch; returns a Popen (call ``.communicate()`` for text)."""
        proc = subprocess.Popen(
            ['ip', 'netns', 'exec', self.switch_ns, 'timeout', str(timeout), 'tcpdump', '-l',
             '-nn', '-v', '-i', lan, '-c', str(count), bpf],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)  # let tcpdump attach before traffic starts
        return proc

    def memory(self):
        """[(host name, {process: RSS KiB})] and the lab's total RSS in KiB."""
        per_host = [(h.name, h.memory()) for h in self.hosts]
        return per_host, sum(sum(m.values()) for _n, m in per_host)

    def memory_report(self):
        """The per-host RSS lines and the total, as printed by ``make lab`` and the testbed."""
        per_host, total = self.memory()
        lines = ['%-8s %7.1f MiB  (%s)' % (name, sum(m.values()) / 1024.0, ', '.join(
            '%s %.1f' % (proc, kib / 1024.0) for proc, kib in sorted(m.items())))
            for name, m in per_host]
        lines.append('%-8s %7.1f MiB for %d hosts (%.1f MiB per host); MemAvailable now %d MiB'
                     % ('total', total / 1024.0, len(per_host),
                        total / 1024.0 / max(1, len(per_host)), mem_available_mib()))
        return lines

    # ------------------------------------------------------------------ tearing down

    def destroy(self):
        """Kill every process in the lab's namespaces (by pid), delete them and the directory."""
        for host in self.hosts:
            host.destroy()
        kill_pids([self.proxy_pid] if pid_alive(self.proxy_pid) else [])
        remove_netns([self.switch_ns])
        shutil.rmtree(self.dir, ignore_errors=True)
