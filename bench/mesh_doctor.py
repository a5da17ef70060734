# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The mesh doctor against one idempotent ``gre_mesh.yml`` run on the same 3-host lab, in one run
(``make bench-doctor``): the target of issue 15 is doctor / re-run <= 1.

The lab is the one of tests/system/test_mesh_doctor.py: three lab hosts reached over SSH, two GRE
networks built by ``gre_mesh.yml``, the underlay on ``cloudbr0``, one "VM" per host and network
and pings between them, so the bridges learned remote MACs and the doctor traces unicast too.
Then ``playbooks/gre_mesh.yml`` (must change nothing) and ``playbooks/mesh_doctor.yml`` (must
be clean) are run alternately, ROUNDS times each, with the same Ansible settings; the medians
and their ratio are printed, with where the doctor's time goes (per task, from the
``task_events`` callback). ``--rounds N`` changes the count. Run as root. Only documentation
addresses, inside the lab's own namespaces.
"""

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time

from testbed import Lab
from testbed.ansible_cli import ansible, read_task_events, recap, task_events_env

HERE = os.path.dirname(os.path.abspath(__file__))

KEYS = (1001, 1002)
VM_NET = {1001: '203.0.113.1%d', 1002: '203.0.113.2%d'}
TARGET = 1.0


def build(lab, work):
    inventory = lab.write_mesh_inventory(os.path.join(work, 'inventory.yml'), KEYS)
    proc = ansible('ansible-playbook', '-i', inventory, 'playbooks/gre_mesh.yml')
    if proc.returncode != 0:
        raise SystemExit('gre_mesh.yml failed:\n' + proc.stdout[-3000:] + proc.stderr[-3000:])
    vms = lab.add_mesh_vms(VM_NET)
    for key in KEYS:
        for host in lab.hosts[1:]:
            if not vms[1, key].ping(vms[host.index, key].ip):
                raise SystemExit('VMs of network %d do not reach each other' % key)
    return inventory


def timed_playbook(inventory, playbook, times_file, *extra):
    env = task_events_env(times_file)
    start = time.monotonic()
    proc = ansible('ansible-playbook', '-i', inventory, playbook, *extra, env=env)
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit('%s failed:\n%s\n%s'
                         % (playbook, proc.stdout[-4000:], proc.stderr[-2000:]))
    return seconds, proc


def task_times(times_file):
    """Per task action: the span from its first start to its last end (all hosts), seconds."""
    spans = {}
    for event in read_task_events(times_file):
        first, last = spans.get(event['action'], (event['start'], event['end']))
        spans[event['action']] = (min(first, event['start']), max(last, event['end']))
    return dict((action, end - start) for action, (start, end) in spans.items())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--rounds', type=int, default=5)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit('bench/mesh_doctor.py needs root (network namespaces, Open vSwitch)')
    work = tempfile.mkdtemp(prefix='csovs-bench-doctor-')
    lab = Lab(os.path.join(work, 'lab'), hosts=3).create(start_ovs=True)
    try:
        inventory = build(lab, work)
        report = os.path.join(work, 'report')
        rerun, doctor, profile, mesh_profile = [], [], {}, {}
        for index in range(args.rounds):
            times_file = os.path.join(work, 'gre_mesh-%d.jsonl' % index)
            seconds, proc = timed_playbook(inventory, 'playbooks/gre_mesh.yml', times_file)
            if any(r.get('changed') for r in recap(proc.stdout).values()):
                raise SystemExit('gre_mesh.yml re-run changed something:\n' + proc.stdout)
            rerun.append(seconds)
            for action, span in task_times(times_file).items():
                mesh_profile.setdefault(action, []).append(span)
            times_file = os.path.join(work, 'doctor-%d.jsonl' % index)
            seconds, proc = timed_playbook(inventory, 'playbooks/mesh_doctor.yml', times_file,
                                           '-e', 'mesh_doctor_dir=%s' % report)
            with open(os.path.join(report, 'report.json')) as handle:
                if not json.load(handle)['clean']:
                    raise SystemExit('the doctor found errors on a clean mesh')
            doctor.append(seconds)
            for action, span in task_times(times_file).items():
                profile.setdefault(action, []).append(span)
    finally:
        lab.destroy()
        shutil.rmtree(work, ignore_errors=True)
    r, d = statistics.median(rerun), statistics.median(doctor)
    print('mesh doctor vs idempotent gre_mesh.yml: 3 lab hosts, %d networks, %d rounds, '
          'interleaved' % (len(KEYS), args.rounds))
    print('  %-44s %s' % ('gre_mesh.yml re-run (s)', ' '.join('%.2f' % s for s in rerun)))
    print('  %-44s %s' % ('mesh_doctor.yml (s)', ' '.join('%.2f' % s for s in doctor)))
    print('  %-44s %7.2f s' % ('median gre_mesh.yml re-run', r))
    print('  %-44s %7.2f s' % ('median mesh_doctor.yml', d))
    for title, spans_of in (("doctor's tasks", profile), ("gre_mesh.yml's tasks", mesh_profile)):
        print('%s (median span over all hosts):' % title)
        for action, spans in sorted(spans_of.items(), key=lambda item: -statistics.median(item[1])):
            print('  %-44s %7.2f s' % (action, statistics.median(spans)))
    ratio = d / r
    print('ratio:')
    print('  doctor / gre_mesh.yml re-run      = %5.2fx   target <= %.1fx   %s'
          % (ratio, TARGET, 'ok' if ratio <= TARGET else 'MISSED'))


if __name__ == '__main__':
    main()
