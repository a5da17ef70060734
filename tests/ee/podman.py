# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""podman as root on this machine kind: no systemd, cgroups v1 with an empty v2 hierarchy
(hybrid), no CAP_SYS_RESOURCE. Every podman call here reads a containers.conf of our own
(``CONTAINERS_CONF``), so nothing of the machine's podman configuration is changed:

* ``runtime = "runc"``: crun 1.8 (Debian 12's default) refuses hybrid cgroups ("cgroups in hybrid
  mode not supported, drop all controllers from cgroupv2"); runc runs the same containers.
* ``cgroup_manager = "cgroupfs"`` and ``events_logger = "file"``: no systemd, no journald.
* ``default_ulimits``: podman gives a root container nofile 1048576 and nproc 4194304, and the
  runtime's setrlimit above the caller's hard limits fails without CAP_SYS_RESOURCE ("error
  setting rlimit type 7: operation not permitted"). The limits are this process' hard limits;
  nproc at most ``kernel.pid_max`` (measured: 32768 is accepted, 32769 is not).
"""

import os
import resource
import subprocess

PODMAN = '/usr/bin/podman'


def pid_max():
    with open('/proc/sys/kernel/pid_max') as handle:
        return int(handle.read())


def containers_conf(path):
    """Write our containers.conf to ``path``; returns ``path``."""
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nproc = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    nproc = pid_max() if nproc == resource.RLIM_INFINITY else min(nproc, pid_max())
    if nofile == resource.RLIM_INFINITY:
        nofile = 1048576
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, 'w') as handle:
        handle.write('\n'.join([
            '# podman settings of cloudstack.ovs make ee / make ee-test (tests/ee/podman.py)',
            '[containers]',
            'default_ulimits = ["nofile=%d:%d", "nproc=%d:%d"]' % (nofile, nofile, nproc, nproc),
            '[engine]',
            'runtime = "runc"',
            'cgroup_manager = "cgroupfs"',
            'events_logger = "file"',
            '']))
    return path


def env(conf, base=None):
    """The environment of a podman (or ansible-builder) call: ``CONTAINERS_CONF`` set, and no
    ``ANSIBLE_*`` variable of the caller (make exports a collections path of the checkout)."""
    out = dict((k, v) for k, v in (base or os.environ).items() if not k.startswith('ANSIBLE_'))
    out['CONTAINERS_CONF'] = conf
    return out


def podman(conf, *args, check=True, timeout=600, **kw):
    """Run podman with our containers.conf; returns the CompletedProcess (text)."""
    proc = subprocess.run([PODMAN] + list(args), env=env(conf), capture_output=True, text=True,
                          timeout=timeout, check=False, **kw)
    if check and proc.returncode != 0:
        raise RuntimeError('podman %s failed (rc=%d): %s'
                           % (' '.join(args), proc.returncode, proc.stderr.strip()[-3000:]))
    return proc


def image_size(conf, image):
    """The image's size in bytes as ``podman image inspect`` gives it, or None when absent."""
    proc = podman(conf, 'image', 'inspect', '--format', '{{.Size}}', image, check=False)
    return int(proc.stdout.strip()) if proc.returncode == 0 else None
