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

``--zone`` measures the doctor's analysis alone at zone size instead (no lab, no root): the
``mesh_doctor_report`` filter (``diagnose``, the Markdown report, the picture) on synthetic
``gre_mesh_info`` readings of 8, 32, 64 and 128 hosts x 8 networks, a clean zone and one where
every host lacks its flows in one network and one tunnel in another (findings that break host
pairs). It prints the time per size and its growth against the growth of hosts x networks and of
the readings themselves (hosts x networks x peers tunnel ports, what every host reports).
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

from testbed import Lab
from testbed.ansible_cli import (
    COLLECTIONS,
    ansible,
    ensure_link,
    read_task_events,
    recap,
    task_events_env,
)

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


ZONE_SIZES = (8, 32, 64, 128)
ZONE_NETWORKS = 8


def _reading_port(name, type_, options, ofport, protected):
    iface = dict(name=name, type=type_, options=options, ofport=ofport, external_ids={},
                 other_config={}, link_state='up', admin_state='up', error=None,
                 mac_in_use=None)
    return dict(name=name, tag=None, trunks=[], vlan_mode=None, protected=protected,
                external_ids={'cloudstack-ovs-owner': 'gre_network'}, other_config={},
                interfaces={name: iface})


def _reading_bridge(host_id, key, peers):
    """One tunnel bridge as gre_mesh_info reads it on a healthy host (trace included)."""
    from ansible_collections.cloudstack.ovs.plugins.module_utils.gre_flows import desired_flows
    name = 'OVSTunnel%d' % key
    ports = {name: _reading_port(name, 'internal', {}, 65534, False)}
    ofports = {}
    for ofport, (peer_id, ip) in enumerate(peers, 1):
        pname = 't%d-%d-%d' % (key, host_id, peer_id)
        ports[pname] = _reading_port(pname, 'gre', dict(key=str(key), remote_ip=ip), ofport, True)
        ofports[pname] = ofport
    return dict(
        name=name, datapath_type='netdev', fail_mode=None, stp_enable=False, rstp_enable=False,
        controllers=[], other_config={'gre_key': str(key), 'is-ovs-tun-network': 'True',
                                      'ovs-host-setup': '-1,%d,-1' % host_id},
        external_ids={}, ports=ports, flows=desired_flows(ofports), flows_error=None,
        trace=dict(broadcast=dict(tunnels=[dict(remote_ip=ip, key=str(key)) for _p, ip in peers],
                                  actions='', notes=[]),
                   from_tunnels=[dict(port=p, tunnels=[], actions='', notes=[])
                                 for p in sorted(ofports)],
                   unicast=[], error=None))


def synthetic_zone(hosts, networks, broken=False):
    """The doctor's input for ``hosts`` hosts that all carry ``networks`` networks. ``broken``:
    every host lacks its split-horizon flows in the first network and its tunnel to the next
    host in the second."""
    keys = list(range(1001, 1001 + networks))
    ips = dict((h, '198.51.100.%d' % h) for h in range(1, hosts + 1))
    out = []
    for host_id in range(1, hosts + 1):
        peers = [(p, ips[p]) for p in range(1, hosts + 1) if p != host_id]
        bridges = dict(('OVSTunnel%d' % k, _reading_bridge(host_id, k, peers)) for k in keys)
        if broken:
            bridges['OVSTunnel%d' % keys[0]]['flows'] = ['priority=0 actions=NORMAL']
            victim = 't%d-%d-%d' % (keys[1], host_id, host_id % hosts + 1)
            del bridges['OVSTunnel%d' % keys[1]]['ports'][victim]
        info = dict(host_id=host_id, bridges=bridges, addresses=[
            dict(ifname='cloudbr0', address=ips[host_id], prefixlen=24, ovs=True)])
        out.append(dict(name='kvm%03d' % host_id, host_id=host_id, underlay_ip=ips[host_id],
                        networks=keys, info=info))
    return out


def zone_bench(rounds):
    """The doctor's analysis alone at zone size, on synthetic readings."""
    ensure_link()
    sys.path.insert(0, COLLECTIONS)
    from ansible_collections.cloudstack.ovs.plugins.filter.mesh_doctor import mesh_doctor_report
    print('mesh doctor analysis (mesh_doctor_report filter) on synthetic readings, %d networks, '
          'best of %d, CPU seconds' % (ZONE_NETWORKS, rounds))
    header = ('hosts', 'ports', 'clean cpu s', 'broken cpu s', 'findings', 'us/port')
    print('  %5s %10s %11s %12s %10s %12s' % header)
    rows = []
    for size in ZONE_SIZES:
        times = {}
        for broken in (False, True):
            zone = synthetic_zone(size, ZONE_NETWORKS, broken)
            best = None
            for _round in range(rounds):
                # CPU time of this process: the machine is shared, its load varies
                start = time.process_time()
                result = mesh_doctor_report(zone)
                seconds = time.process_time() - start
                best = seconds if best is None else min(best, seconds)
            if result['clean'] == broken:
                raise SystemExit('synthetic zone of %d hosts (broken=%s): the doctor says '
                                 'clean=%s' % (size, broken, result['clean']))
            times[broken] = (best, len(result['findings']))
        ports = size * ZONE_NETWORKS * (size - 1)
        rows.append((size, ports, times[False][0], times[True][0]))
        row = (size, ports, times[False][0], times[True][0], times[True][1],
               1e6 * times[True][0] / ports)
        print('  %5d %10d %11.3f %12.3f %10d %12.1f' % row)
    first, last = rows[0], rows[-1]
    hosts_x_networks = float(last[0]) / first[0]
    print('growth from %d to %d hosts (x %d networks):' % (first[0], last[0], ZONE_NETWORKS))
    print('  hosts x networks                  = %7.1fx' % hosts_x_networks)
    print('  tunnel ports read (the input)     = %7.1fx' % (float(last[1]) / first[1]))
    for label, index in (('clean zone', 2), ('broken zone', 3)):
        growth = last[index] / first[index]
        print('  doctor, %-25s = %7.1fx   (%.2f x the input\'s growth, %.1f x hosts x networks)'
              % (label, growth, growth / (float(last[1]) / first[1]), growth / hosts_x_networks))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--zone', action='store_true',
                        help='the analysis alone on synthetic readings of 8-128 hosts (no lab)')
    args = parser.parse_args()
    if args.zone:
        zone_bench(min(args.rounds, 3))
        return
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
