# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Command line of the testbed (used by the molecule scenario's create/destroy playbooks).

    python tests/testbed create DIR --inventory FILE [--hosts 3] [--start-ovs] [--vars JSON]
    python tests/testbed destroy DIR
"""

import argparse
import json
import os
import sys

if __package__ in (None, ''):
    # run as a directory (python tests/testbed): make ``testbed`` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from testbed import Lab  # noqa: E402  pylint: disable=import-self
else:
    from . import Lab


def main(argv=None):
    parser = argparse.ArgumentParser(prog='testbed', description=__doc__.split('\n', maxsplit=1)[0])
    sub = parser.add_subparsers(dest='command', required=True)
    create = sub.add_parser('create', help='create lab hosts and write an inventory')
    create.add_argument('dir')
    create.add_argument('--inventory', required=True)
    create.add_argument('--hosts', type=int, default=3)
    create.add_argument('--start-ovs', action='store_true')
    create.add_argument('--python', default=sys.executable,
                        help='ansible_python_interpreter of the hosts')
    create.add_argument('--vars', default='{}', help='JSON: variables for every host')
    destroy = sub.add_parser('destroy', help='remove a lab')
    destroy.add_argument('dir')
    args = parser.parse_args(argv)

    if args.command == 'create':
        old = Lab.load(args.dir)
        if old is not None:
            old.destroy()
        lab = Lab(args.dir, hosts=args.hosts).create(start_ovs=args.start_ovs)
        host_vars = json.loads(args.vars)
        lab.write_inventory(args.inventory, args.python,
                            dict((h.name, host_vars) for h in lab.hosts))
        print(json.dumps(dict(prefix=lab.prefix, hosts=[h.name for h in lab.hosts],
                              inventory=os.path.abspath(args.inventory))))
        return 0
    lab = Lab.load(args.dir)
    if lab is not None:
        lab.destroy()
    print(json.dumps(dict(removed=lab.prefix if lab else None)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
