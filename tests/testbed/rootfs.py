# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""A Debian base root filesystem, built once with debootstrap and cached.

    path = debian_base(cache_dir)                       # python3 + openssh-server, minbase
    path = debian_base(cache_dir, include=('python3',))  # another package set, its own cache

The base is ``debootstrap --variant=minbase`` of the machine's Debian release plus the packages
``include`` names (and what they depend on), like a freshly installed minimal server. It is
unpacked under ``<cache_dir>/rootfs/<suite>-<key>/`` where ``key`` is a hash of everything that
makes it (suite, mirror, package set, ``BUILD_VERSION``): a different package set is a
different directory, and an existing directory is never changed (lab hosts use it read-only as
the lower layer of their overlays, several labs at once). Building is serialised by a lock file,
so a test, molecule and ``make lab`` started together build it once. A failed build leaves only
its temporary directory, removed on the next try.

What the builder changes after debootstrap, and why:

* ``/usr/sbin/policy-rc.d`` exits 101: there is no init system in a lab host or a container,
  so package maintainer scripts must not try to start services (``invoke-rc.d`` asks this
  script first). The roles start Open vSwitch themselves (roles/openvswitch, ovs-ctl path).
* ``/etc/apt/sources.list.d/debian.sources`` names the release, its updates and security
  suites on the same mirror the machine uses (http), as a Debian 12 installer writes it.
* apt keeps no downloaded ``.deb`` files and the base has no package lists (as Debian's
  container images): ``apt-get update`` comes first, as on any host whose lists are old; the
  testbed's proxy caches the packages instead, once for every host.
* The SSH host keys that openssh-server's postinst generated are removed: every copy of the
  base would share them. Whoever starts an sshd from it gives it a key (the lab does).
* ``/etc/resolv.conf`` and ``/etc/hostname`` are emptied: they came from the machine.

The mirror is the one the machine's own apt sources name (``machine_mirror()``); debootstrap
downloads from it directly, in the machine's network namespace.
"""

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess

from .proc import TestbedError

DEBOOTSTRAP = '/usr/sbin/debootstrap'
DEFAULT_INCLUDE = ('python3', 'openssh-server')
# Bump when the steps below change what a base contains: old caches are then not reused.
BUILD_VERSION = 2
DEFAULT_CACHE = '/var/cache/cloudstack.ovs-testbed'
SOURCES_FILES = ('/etc/apt/sources.list', '/etc/apt/sources.list.d')


def cache_dir(path=None):
    """The testbed's cache: ``path``, else ``$CSO_TESTBED_CACHE``, else ``DEFAULT_CACHE``.

    It lives outside the clone and outside any lab's directory, so ``make lab-down`` and a fresh
    clone keep the base image and the downloaded packages.
    """
    path = path or os.environ.get('CSO_TESTBED_CACHE') or DEFAULT_CACHE
    os.makedirs(path, exist_ok=True)
    return os.path.abspath(path)


def os_release(path='/etc/os-release'):
    values = {}
    with open(path) as handle:
        for line in handle:
            key, sep, value = line.strip().partition('=')
            if sep:
                values[key] = value.strip('"')
    return values


def machine_suite():
    """The Debian release the machine runs (``bookworm``)."""
    suite = os_release().get('VERSION_CODENAME')
    if not suite or os_release().get('ID') != 'debian':
        raise TestbedError('the base image is built from the machine\'s Debian release, but '
                           '/etc/os-release names no Debian codename')
    return suite


def _source_lines():
    """(uri, suites) of every apt source of the machine, deb822 and one-line formats."""
    files = []
    for path in SOURCES_FILES:
        if os.path.isdir(path):
            files += [os.path.join(path, n) for n in sorted(os.listdir(path))
                      if n.endswith(('.list', '.sources'))]
        elif os.path.exists(path):
            files.append(path)
    out = []
    for path in files:
        with open(path) as handle:
            text = handle.read()
        if path.endswith('.sources'):
            for stanza in re.split(r'\n\s*\n', text):
                fields = dict((k.strip().lower(), v.strip()) for k, _s, v in (
                    line.partition(':') for line in stanza.splitlines()
                    if ':' in line and not line.startswith('#')))
                if 'deb' in fields.get('types', '').split():
                    for uri in fields.get('uris', '').split():
                        out.append((uri, fields.get('suites', '').split()))
        else:
            for line in text.splitlines():
                words = re.sub(r'\[[^]]*\]', '', line).split()
                if len(words) >= 3 and words[0] == 'deb':
                    out.append((words[1], [words[2]]))
    return out


def machine_mirror(suite=None):
    """The http URI of the Debian archive the machine's apt sources use for ``suite``."""
    suite = suite or machine_suite()
    for uri, suites in _source_lines():
        if suite in suites and uri.startswith('http://') and uri.rstrip('/').endswith('/debian'):
            return uri.rstrip('/')
    raise TestbedError('no http Debian mirror for %s in the machine\'s apt sources (%s)'
                       % (suite, ', '.join(SOURCES_FILES)))


def mirror_hosts(suite=None):
    """The host names of every http Debian source of the machine for ``suite`` and its updates
    and security suites: what the lab's package proxy lets through, nothing else."""
    suite = suite or machine_suite()
    hosts = []
    for uri, suites in _source_lines():
        if uri.startswith('http://') and any(s.split('-')[0] == suite for s in suites):
            host = uri[len('http://'):].split('/')[0]
            if host not in hosts:
                hosts.append(host)
    return hosts


def _key(suite, mirror, include):
    text = json.dumps(dict(suite=suite, mirror=mirror, include=sorted(include),
                           version=BUILD_VERSION), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def base_path(cache, include=DEFAULT_INCLUDE, suite=None, mirror=None):
    """Where ``debian_base`` keeps (or will keep) the base for these arguments."""
    suite = suite or machine_suite()
    mirror = mirror or machine_mirror(suite)
    return os.path.join(cache_dir(cache), 'rootfs', '%s-%s' % (suite, _key(suite, mirror, include)))


def debian_base(cache=None, include=DEFAULT_INCLUDE, suite=None, mirror=None, timeout=1200):
    """The path of an unpacked Debian base root filesystem; built on first use, then cached.

    ``include``: the packages on top of ``--variant=minbase``. Returns the directory (treat it
    as read-only: use it as an overlay's lower layer or copy it).
    """
    suite = suite or machine_suite()
    mirror = mirror or machine_mirror(suite)
    include = tuple(include)
    target = base_path(cache, include, suite, mirror)
    if os.path.exists(os.path.join(target, '.cso-base.json')):
        return target
    if not os.access(DEBOOTSTRAP, os.X_OK):
        raise TestbedError('%s is not installed (run: bash .ci/install-system-deps)' % DEBOOTSTRAP)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target + '.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(os.path.join(target, '.cso-base.json')):
            return target            # another process built it while we waited
        tmp = target + '.tmp'
        shutil.rmtree(tmp, ignore_errors=True)
        debs = os.path.join(cache_dir(cache), 'debootstrap-debs')
        os.makedirs(debs, exist_ok=True)
        cmd = [DEBOOTSTRAP, '--variant=minbase', '--cache-dir=%s' % debs,
               '--include=%s' % ','.join(include), suite, tmp, mirror]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        if proc.returncode != 0:
            log = os.path.join(tmp, 'debootstrap', 'debootstrap.log')
            tail = open(log).read()[-3000:] if os.path.exists(log) else proc.stderr[-3000:]
            raise TestbedError('%s failed (rc=%d): %s' % (' '.join(cmd), proc.returncode, tail))
        _finish(tmp, suite, mirror)
        with open(os.path.join(tmp, '.cso-base.json'), 'w') as handle:
            json.dump(dict(suite=suite, mirror=mirror, include=list(include),
                           version=BUILD_VERSION), handle)
        os.rename(tmp, target)
    return target


def _write(root, path, text, mode=0o644):
    full = os.path.join(root, path.lstrip('/'))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, 'w') as handle:
        handle.write(text)
    os.chmod(full, mode)


def _finish(root, suite, mirror):
    """The changes after debootstrap listed in the module docstring."""
    _write(root, '/usr/sbin/policy-rc.d',
           '#!/bin/sh\n# No init system here (cloudstack.ovs testbed base): maintainer scripts '
           'do not start services.\nexit 101\n', 0o755)
    security = mirror.rsplit('/', 1)[0] + '/debian-security'
    _write(root, '/etc/apt/sources.list.d/debian.sources', (
        'Types: deb\nURIs: {m}\nSuites: {s} {s}-updates\nComponents: main\n'
        'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n'
        'Types: deb\nURIs: {sec}\nSuites: {s}-security\nComponents: main\n'
        'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n').format(
            m=mirror, s=suite, sec=security))
    sources_list = os.path.join(root, 'etc', 'apt', 'sources.list')
    if os.path.exists(sources_list):
        os.remove(sources_list)
    _write(root, '/etc/apt/apt.conf.d/90cso-no-deb-cache',
           '// cloudstack.ovs testbed base: downloaded packages are not kept on the host.\n'
           'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb || true"; };\n')
    for name in os.listdir(os.path.join(root, 'etc', 'ssh')):
        if name.startswith('ssh_host_'):
            os.remove(os.path.join(root, 'etc', 'ssh', name))
    for path in ('/etc/resolv.conf', '/etc/hostname'):
        _write(root, path, '')
    _write(root, '/etc/hosts', '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n')
    for sub in (('var', 'cache', 'apt', 'archives'), ('var', 'lib', 'apt', 'lists')):
        shutil.rmtree(os.path.join(root, *sub), ignore_errors=True)
        os.makedirs(os.path.join(root, *(sub + ('partial',))))
    shutil.rmtree(os.path.join(root, 'debootstrap'), ignore_errors=True)


def main(argv=None):
    """``python -m testbed.rootfs [CACHE] [PACKAGE ...]``: build (or find) a base, print its path."""
    import sys
    args = list(sys.argv[1:] if argv is None else argv)
    cache = args.pop(0) if args else None
    print(debian_base(cache, include=tuple(args) or DEFAULT_INCLUDE))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
