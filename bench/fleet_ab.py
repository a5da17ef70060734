# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The controller's CPU per host of an idempotent ``playbooks/gre_mesh.yml`` re-run against
``ansible.builtin.ping``'s, for several copies of the collection on ONE fleet lab, in one run
(docs/scale.md, "What the peer computation costs the controller").

    bench/fleet_ab.py --size 32 --rounds 3 --variant before=/tmp/main-copy [--variant ...]

A variant is ``name=path``: ``path`` is a collections directory (it holds
``ansible_collections/cloudstack/ovs``); ``this`` is this checkout (unless ``--no-this``). The lab is
created once and converged once (with this checkout); then each round runs (p) ping and every
variant's re-run, in an order that rotates from round to round (the machine is shared and
its load drifts), each re-run checked to change nothing and to fail no host. Prints the
controller CPU per host of every run, and per variant its best and median re-run against the
best and median ping: (r)/(p). Writes nothing but its own output. Run as root.
"""

import argparse
import os
import statistics
import sys
import tempfile

from testbed import Lab
from testbed.ansible_cli import COLLECTIONS
from testbed.lab import FLEET_OVS_CONFIG, check_capacity
from fleet import KEYS, ROOT, fleet_forks, ping_playbook, run_playbook, task_times


def playbook(path):
    """The variant's own gre_mesh.yml (its options are the variant's module's)."""
    return os.path.join(path, 'ansible_collections', 'cloudstack', 'ovs', 'playbooks',
                        'gre_mesh.yml')


def variant_env(path):
    return dict(ANSIBLE_COLLECTIONS_PATH=path, PYTHONPATH=path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', 1)[0])
    parser.add_argument('--size', type=int, default=32)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--forks', type=int, default=None)
    parser.add_argument('--variant', action='append', default=[],
                        help='name=collections-dir (repeatable)')
    parser.add_argument('--profile', default=None, metavar='SITEDIR',
                        help='after the rounds, run ping and each variant once more with SITEDIR '
                             'first on PYTHONPATH (a sitecustomize.py that profiles, say) and '
                             'FLEET_AB_RUN=<name> in the environment')
    parser.add_argument('--no-this', action='store_true',
                        help='run only the --variant copies, not this checkout')
    opts = parser.parse_args()
    variants = [] if opts.no_this else [('this', COLLECTIONS)]  # its gre_mesh.yml is ROOT's
    for spec in opts.variant:
        name, sep, path = spec.partition('=')
        if not sep or not os.path.isdir(os.path.join(path, 'ansible_collections', 'cloudstack',
                                                     'ovs')):
            parser.error('--variant %r: want name=<dir holding ansible_collections/cloudstack/ovs>'
                         % spec)
        variants.append((name, os.path.abspath(path)))
    size = opts.size
    forks = opts.forks or fleet_forks(size)
    check_capacity(size, start_ovs=True)
    workdir = tempfile.mkdtemp(prefix='fleet-ab-')
    lab = Lab(os.path.join(workdir, 'lab'), hosts=size)
    lab.create(start_ovs=True, other_config=FLEET_OVS_CONFIG)
    try:
        inventory = lab.write_mesh_inventory(os.path.join(workdir, 'inventory.yml'), KEYS)
        mesh = os.path.join(ROOT, 'playbooks', 'gre_mesh.yml')
        ping = ping_playbook(workdir)
        run_playbook(ping, inventory, forks, workdir, 'warm-up ping')
        first = run_playbook(mesh, inventory, forks, workdir, '(f) first converge')
        print('(f) %.1f s, controller CPU %.3f s a host' % (first['wall'], first['cpu'] / size),
              flush=True)
        runs = [('ping', None)] + variants
        cpu = dict((name, []) for name, _p in runs)
        for index in range(opts.rounds):
            shift = index % len(runs)
            for name, path in runs[shift:] + runs[:shift]:
                if path is None:
                    got = run_playbook(ping, inventory, forks, workdir, '(p)')
                else:
                    got = run_playbook(playbook(path), inventory, forks, workdir,
                                       '(r) %s' % name, **variant_env(path))
                    tasks = task_times(got['events'], 'gre_network')
                    if tasks['changed'] or tasks['hosts'] != size:
                        raise SystemExit('(r) %s: %d hosts changed, %d of %d ok'
                                         % (name, tasks['changed'], tasks['hosts'], size))
                cpu[name].append(got['cpu'] / size)
                print('round %d  %-8s wall %6.1f s  controller CPU %.3f s a host'
                      % (index + 1, name, got['wall'], cpu[name][-1]), flush=True)
        if opts.profile:
            for name, path in runs:
                extra = dict(FLEET_AB_RUN=name)
                if path is None:
                    extra.update(PYTHONPATH='%s:%s' % (opts.profile, COLLECTIONS))
                    got = run_playbook(ping, inventory, forks, workdir, '(p) profiled', **extra)
                else:
                    extra.update(variant_env(path))
                    extra['PYTHONPATH'] = '%s:%s' % (opts.profile, path)
                    got = run_playbook(playbook(path), inventory, forks, workdir,
                                       '(r) %s profiled' % name, **extra)
                print('profiled %-8s controller CPU %.3f s a host' % (name, got['cpu'] / size),
                      flush=True)
        p_best, p_median = min(cpu['ping']), statistics.median(cpu['ping'])
        print('\n%d hosts, forks %d, %d rounds; ping %.3f s a host best, %.3f median'
              % (size, forks, opts.rounds, p_best, p_median))
        print('| variant | (r) CPU per host, best | median | (r)/(p) best | (r)/(p) median |')
        print('| --- | ---: | ---: | ---: | ---: |')
        for name, _p in variants:
            best, median = min(cpu[name]), statistics.median(cpu[name])
            print('| %s | %.3f s | %.3f s | %.2f | %.2f |'
                  % (name, best, median, best / p_best, median / p_median))
    finally:
        lab.destroy()
    return 0


if __name__ == '__main__':
    sys.exit(main())
