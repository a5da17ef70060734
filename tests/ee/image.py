# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""``make ee``: the execution environment image from execution-environment.yml, with no registry.

    python -m ee.image [--cache DIR]       (after ``make build``; make ee does both)

1. The base: ``testbed.rootfs.debian_base`` (debootstrap minbase of Debian 12 + ca-certificates
   and openssh-client, cached) streamed into ``podman import`` as ``localhost/cloudstack-ovs-debian:12`` without
   /usr/share/doc, man, info and locale (the EE adds a dpkg exclude for packages installed
   later). The image carries the base's cache key as a label, so it is imported again only when
   the base changes.
2. The collections: ``.build/dist`` holds the tarball ``make build`` wrote; ngine_io.cloudstack
   (requirements.yml) comes from PyPI's ``ansible`` package (.ci/ngine-io-collection), since
   Galaxy is out of reach, as an installed tree ``.build/dist/ansible_collections/...``.
3. ``ansible-builder build`` with podman, ``--network host`` (the build installs from Debian's
   mirror and PyPI), ``ANSIBLE_GALAXY_CLI_COLLECTION_OPTS=--offline`` and the machine's CA bundle
   for pip (mounted for the build only: PyPI is reached through a TLS-inspecting proxy here).

Prints one JSON line: image, size in bytes, base, seconds.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import yaml

from ee.podman import containers_conf, env, image_size, podman
from testbed import rootfs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORK = os.path.join(ROOT, '.build', 'ee')
DIST = os.path.join(ROOT, '.build', 'dist')
BASE_IMAGE = 'localhost/cloudstack-ovs-debian:12'
IMAGE = 'localhost/cloudstack-ovs-ee'
# What every EE needs anyway (pip's TLS, Ansible's SSH); the image would install both itself.
# (testbed.rootfs also expects /etc/ssh, which openssh-client brings.)
BASE_INCLUDE = ('ca-certificates', 'openssh-client')
# Left out of the base image, as Debian's own slim images leave them out (of the translations
# only the per-language directories' contents: /usr/share/locale/locale.alias stays).
SLIM = ('usr/share/doc/*', 'usr/share/man/*', 'usr/share/info/*', 'usr/share/locale/*/*')
CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt'


def conf_path():
    return containers_conf(os.path.join(WORK, 'containers.conf'))


def version():
    with open(os.path.join(ROOT, 'galaxy.yml')) as handle:
        return yaml.safe_load(handle)['version']


def image_name():
    return '%s:%s' % (IMAGE, version())


def import_base(conf, cache=None):
    """``BASE_IMAGE`` from the cached Debian base; imported only when it is missing or older
    than the base. Returns the base's cache key."""
    root = rootfs.debian_base(cache, include=BASE_INCLUDE)
    key = os.path.basename(root)
    have = podman(conf, 'image', 'inspect', '--format', '{{index .Labels "cso.base"}}',
                  BASE_IMAGE, check=False)
    if have.returncode == 0 and have.stdout.strip() == key:
        return key
    excludes = ['--exclude=./%s' % pattern for pattern in SLIM + ('.cso-base.json',)]
    tar = subprocess.Popen(['tar', '--numeric-owner', '-C', root, '-c'] + excludes + ['.'],
                           stdout=subprocess.PIPE)
    try:
        podman(conf, 'import', '--change', 'LABEL cso.base=%s' % key, '--change',
               'CMD ["/bin/bash"]', '-', BASE_IMAGE, stdin=tar.stdout)
    finally:
        tar.stdout.close()
        if tar.wait() != 0:
            raise RuntimeError('tar of %s failed (rc=%d)' % (root, tar.returncode))
    return key


def stage_collections():
    """ngine_io.cloudstack as an installed tree next to the tarball ``make build`` wrote."""
    tarballs = [n for n in os.listdir(DIST) if n.startswith('cloudstack-ovs-')] \
        if os.path.isdir(DIST) else []
    if tarballs != ['cloudstack-ovs-%s.tar.gz' % version()]:
        raise RuntimeError('%s must hold exactly cloudstack-ovs-%s.tar.gz (rm -rf .build/dist && '
                           'make build), not %s' % (DIST, version(), tarballs))
    out = subprocess.run(['bash', os.path.join(ROOT, '.ci', 'ngine-io-collection'),
                          sys.executable], capture_output=True, text=True, check=True,
                         timeout=600).stdout.strip().splitlines()[-1]
    src = os.path.join(out, 'ansible_collections', 'ngine_io', 'cloudstack')
    dest = os.path.join(DIST, 'ansible_collections', 'ngine_io', 'cloudstack')
    shutil.rmtree(os.path.join(DIST, 'ansible_collections'), ignore_errors=True)
    shutil.copytree(src, dest, symlinks=True)


def build(conf, log):
    """ansible-builder build; its output goes to ``log``."""
    ca = os.environ.get('PIP_CERT') or CA_BUNDLE
    pip_conf = os.path.join(WORK, 'pip.conf')
    with open(pip_conf, 'w') as handle:
        handle.write('[global]\ncert = /etc/ee-build-ca.crt\n')
    extra = ['--network', 'host', '-v', '%s:/etc/pip.conf:ro' % pip_conf,
             '-v', '%s:/etc/ee-build-ca.crt:ro' % ca]
    cmd = [os.path.join(os.path.dirname(sys.executable), 'ansible-builder'), 'build',
           '-f', os.path.join(ROOT, 'execution-environment.yml'),
           '-c', os.path.join(WORK, 'context'), '-t', image_name(),
           '--container-runtime', 'podman', '-v', '3',
           '--build-arg', 'EE_BASE_IMAGE=%s' % BASE_IMAGE,
           '--build-arg', 'ANSIBLE_GALAXY_CLI_COLLECTION_OPTS=--offline',
           '--extra-build-cli-args', ' '.join(extra)]
    with open(log, 'w') as handle:
        proc = subprocess.run(cmd, cwd=ROOT, env=env(conf), stdout=handle,
                              stderr=subprocess.STDOUT, timeout=3600, check=False)
    if proc.returncode != 0:
        with open(log) as handle:
            tail = handle.read()[-4000:]
        raise RuntimeError('ansible-builder build failed (rc=%d, %s):\n%s'
                           % (proc.returncode, log, tail))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--cache', help='testbed cache (default: $CSO_TESTBED_CACHE or %s)'
                        % rootfs.DEFAULT_CACHE)
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        raise SystemExit('make ee runs podman and debootstrap as root')
    os.makedirs(WORK, exist_ok=True)
    conf = conf_path()
    start = time.monotonic()
    key = import_base(conf, args.cache)
    base_seconds = time.monotonic() - start
    stage_collections()
    build(conf, os.path.join(WORK, 'build.log'))
    print(json.dumps(dict(image=image_name(), size=image_size(conf, image_name()),
                          base=BASE_IMAGE, base_key=key,
                          base_size=image_size(conf, BASE_IMAGE),
                          base_seconds=round(base_seconds, 1),
                          seconds=round(time.monotonic() - start, 1))))
    return 0


if __name__ == '__main__':
    sys.exit(main())
