# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Command line of the testbed (used by the molecule scenario's create/destroy playbooks).

    python -m testbed create DIR --inventory FILE [--hosts 3] [--networks 0] [--start-ovs]
                             [--bare] [--vars JSON]
    python -m testbed memory DIR
    python -m testbed destroy DIR

``python`` is the venv's (``.venv/bin/python``): ``make venv`` puts ``tests/`` on its path (a
``.pth`` file), so ``testbed`` is a package wherever it runs. Without the venv:
``PYTHONPATH=tests python3 -m testbed ...`` from the repository.

``--bare``: hosts with their own Debian root (python3 and sshd only; the base is built once and
cached in ``$CSO_TESTBED_CACHE``, default /var/cache/cloudstack.ovs-testbed) that get everything
else from the roles, through the lab's package proxy. Without it hosts share the machine's /usr.
Either way the inventory names each host's own /usr/bin/python3.

``--networks N`` gives every host the GRE networks 1001..1000+N (``cloudstack_gre_networks``,
userspace datapath) for ``playbooks/gre_mesh.yml``. A size that does not fit this machine's
MemAvailable is refused before anything starts.
"""

import argparse
import json
import os
import sys

from testbed import Lab, TestbedError
from testbed.lab import FLEET_OVS_CONFIG


def main(argv=None):
    parser = argparse.ArgumentParser(prog='testbed', description=__doc__.split('\n', maxsplit=1)[0])
    sub = parser.add_subparsers(dest='command', required=True)
    create = sub.add_parser('create', help='create lab hosts and write an inventory')
    create.add_argument('dir')
    create.add_argument('--inventory', required=True)
    create.add_argument('--hosts', type=int, default=3)
    create.add_argument('--networks', type=int, default=0,
                        help='GRE networks per host (1001..1000+N), full mesh')
    create.add_argument('--start-ovs', action='store_true')
    create.add_argument('--bare', action='store_true',
                        help='hosts with their own Debian root (python3 and sshd only)')
    create.add_argument('--vars', default='{}', help='JSON: variables for every host')
    memory = sub.add_parser('memory', help="print each host's RSS and the lab's total")
    memory.add_argument('dir')
    destroy = sub.add_parser('destroy', help='remove a lab')
    destroy.add_argument('dir')
    args = parser.parse_args(argv)

    if args.command == 'create':
        old = Lab.load(args.dir)
        if old is not None:
            old.destroy()
        try:
            # a mesh (--networks) gets the fleet's idle-cheap switch settings
            lab = Lab(args.dir, hosts=args.hosts, bare=args.bare).create(
                start_ovs=args.start_ovs,
                other_config=FLEET_OVS_CONFIG if args.start_ovs and args.networks else None)
        except TestbedError as exc:
            print('testbed: %s' % exc, file=sys.stderr)
            return 2
        host_vars = json.loads(args.vars)
        if args.networks:
            host_vars = dict(dict(cloudstack_gre_networks=list(range(1001, 1001 + args.networks)),
                                  cloudstack_gre_datapath_type='netdev'), **host_vars)
        lab.write_inventory(args.inventory, dict((h.name, host_vars) for h in lab.hosts))
        print(json.dumps(dict(prefix=lab.prefix, hosts=[h.name for h in lab.hosts],
                              inventory=os.path.abspath(args.inventory))))
        print('\n'.join(lab.memory_report()), file=sys.stderr)
        return 0
    lab = Lab.load(args.dir)
    if args.command == 'memory':
        if lab is None:
            print('testbed: no lab in %s' % args.dir, file=sys.stderr)
            return 1
        print('\n'.join(lab.memory_report()))
        return 0
    if lab is not None:
        lab.destroy()
    print(json.dumps(dict(removed=lab.prefix if lab else None)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
