# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The whole zone in one run: ``playbooks/gre_mesh.yml`` over a fleet of lab hosts, measured
against Ansible's own floor on the same hosts (``make bench-fleet``).

For N = 8, 32, 64 and 128 lab hosts (each when the machine's memory allows it) x 8 networks,
full mesh (N-1 tunnels per network per host), each size on a fresh lab (real sshd, ovsdb-server
and userspace ovs-vswitchd per host, reached over SSH), forks = N up to 32, then 32:

(f) first converge of gre_mesh.yml: wall time and controller CPU (ansible-playbook, its workers
    and SSH clients: user + system time of the child processes);
(r) the idempotent re-run of the same playbook (must change nothing);
(p) Ansible's floor: a playbook with one ``ansible.builtin.ping`` task over the same hosts, with
    the same forks and connection settings (SSH pipelining, ControlPersist connections opened by
    a warm-up ping that is reported but not compared);
the controller's CPU per host of each; per-host task time (controller start -> result, median
and max); one host's re-run on the otherwise idle lab (``--limit kvm1``, and the gre_network
module process alone on kvm1); the idle lab's CPU; the summed raw ovsdbapp transaction time (one
host's mesh in one transaction, timed on a fresh switch, times N); the lab's memory (RSS of every
host's daemons); then the mesh doctor (playbooks/mesh_doctor.yml) over the N hosts against one
idempotent gre_mesh.yml run in the same state (underlay on cloudbr0), at the largest size above
32 hosts once more with a fork per host and ``internal_poll_interval`` 0.05 (docs/scale.md's
settings).

Then (t), the peer computation alone (up to 64 hosts), and one host's ``gre_network`` time
against its port count (250, 1,000, 2,000, 4,000 ports on a fresh switch, 10 networks), to
show the cost stays linear.

Prints the table and the ratios against the targets of issue 20, writes bench/out/fleet.json
(after every size, so a run cut short keeps its data), the plot docs/images/fleet.png (drawn
with graphviz: matplotlib is not a dependency) and the table between the markers of
docs/scale.md.  ``--quick`` (N = 8, 250 and 1,000 ports) is for development. Run as root. Only
documentation addresses, inside the lab's own namespaces.
"""

import argparse
import concurrent.futures
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from testbed import Lab, OvsSwitch, TestbedError
from testbed.ansible_cli import (
    COLLECTIONS,
    PYTHON,
    ansible,
    read_task_events,
    run_module,
    task_events_env,
)
from testbed.lab import FLEET_OVS_CONFIG, HOST_PYTHON, check_capacity, mem_available_mib
from testbed.proc import netns_pids
from gre_mesh import RAW_TRANSACTION  # bench/gre_mesh.py, beside this script

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, 'out')
PNG = os.path.join(ROOT, 'docs', 'images', 'fleet.png')
SCALE_MD = os.path.join(ROOT, 'docs', 'scale.md')
MARK_START = '<!-- bench-fleet:start -->'
MARK_END = '<!-- bench-fleet:end -->'
NETWORKS = 8
KEYS = list(range(1001, 1001 + NETWORKS))
SIZES = (8, 32, 64, 128)
PORT_COUNTS = (250, 1000, 2000, 4000)
PORT_NETWORKS = 10
CORES = os.cpu_count() or 1
MAX_FORKS = 32


def machine_busy():
    """CPU seconds the whole machine spent busy (all cores), from /proc/stat."""
    with open('/proc/stat') as handle:
        fields = [int(v) for v in handle.readline().split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / float(os.sysconf('SC_CLK_TCK'))


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def playbook_env(forks, times_file, **extra):
    """What the fleet's runs add to the testbed's Ansible environment."""
    env = dict(ANSIBLE_FORKS=str(forks), ANSIBLE_PIPELINING='True',
               ANSIBLE_SSH_ARGS='-o ControlMaster=auto -o ControlPersist=300s')
    env.update(task_events_env(times_file))
    env.update(extra)
    return env


def run_playbook(playbook, inventory, forks, workdir, what, allow_failed=False, argv=(), **extra):
    """Run ansible-playbook; return wall seconds, controller CPU seconds, per-host task events.
    ``argv`` adds to its command line (``--limit``, ``-e``)."""
    times_file = os.path.join(workdir, 'times.jsonl')
    if os.path.exists(times_file):
        os.unlink(times_file)
    cpu0, busy0, start = children_cpu(), machine_busy(), time.monotonic()
    proc = ansible('ansible-playbook', '-i', inventory, playbook, *argv,
                   env=playbook_env(forks, times_file, **extra), timeout=3600)
    wall, cpu = time.monotonic() - start, children_cpu() - cpu0
    busy = machine_busy() - busy0
    if proc.returncode != 0 and not (allow_failed and proc.returncode == 2):
        raise SystemExit('%s failed (rc=%d):\n%s\n%s'
                         % (what, proc.returncode, proc.stdout[-4000:], proc.stderr[-2000:]))
    events = read_task_events(times_file)
    # busy - cpu: mostly the lab hosts (sshd, the module processes, OVS), plus anything else
    # running on the machine at the time
    return dict(wall=wall, cpu=cpu, busy=busy, events=events, rc=proc.returncode)


def ping_playbook(workdir):
    path = os.path.join(workdir, 'ping.yml')
    with open(path, 'w') as handle:
        json.dump([{'name': 'Ansible floor', 'hosts': 'kvm_hosts', 'gather_facts': False,
                    'tasks': [{'name': 'ping', 'ansible.builtin.ping': {}}]}], handle)
    return path


def task_times(events, action):
    secs = [e['end'] - e['start'] for e in events if e['action'].endswith(action)
            and e['status'] == 'ok']
    return dict(median=statistics.median(secs) if secs else 0.0, max=max(secs) if secs else 0.0,
                hosts=len(secs), changed=sum(1 for e in events if e['action'].endswith(action)
                                             and e['changed']))


def raw_transaction(ports_per_network, networks=NETWORKS):
    """One host's mesh as one raw ovsdbapp transaction on a fresh switch (seconds, in-process)."""
    switch = OvsSwitch().start()
    try:
        bridges = ['OVSTunnel%d' % k for k in KEYS[:networks]]
        ports = [('OVSTunnel%d' % k, 't%d-1-%d' % (k, p + 2), str(k), peer_ip(p))
                 for k in KEYS[:networks] for p in range(ports_per_network)]
        proc = subprocess.run([PYTHON, '-c', RAW_TRANSACTION, switch.db, json.dumps(bridges),
                               json.dumps(ports)], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit('raw ovsdbapp transaction failed: %s' % proc.stderr[-2000:])
        return float(proc.stdout.split()[0])
    finally:
        switch.destroy()


def peer_ip(index):
    """Peer addresses from the three documentation networks (up to 3 x 244 peers)."""
    nets = ('198.51.100.%d', '203.0.113.%d', '192.0.2.%d')
    return nets[index // 244] % (10 + index % 244)


def ports_on(host):
    return sum(len(host.ovs.vsctl('list-ports', 'OVSTunnel%d' % k).split()) for k in KEYS)


# The peer computation gre_mesh.yml used before the gre_mesh_networks filter (for (t) only).
OLD_JINJA = '''{%- set nets = [] -%}
{%- for key in cloudstack_gre_networks | default([]) -%}
{%-   set peers = [] -%}
{%-   for peer in groups['kvm_hosts'] if peer != inventory_hostname and (key | int) in
        (hostvars[peer].cloudstack_gre_networks | default([]) | map('int') | list) -%}
{%-     set _ = peers.append({'host_id': hostvars[peer].cloudstack_host_id | int,
                              'remote_ip': hostvars[peer].cloudstack_underlay_ip}) -%}
{%-   endfor -%}
{%-   set _ = nets.append({'key': key | int, 'peers': peers}) -%}
{%- endfor -%}
{{ nets }}'''
NEW_JINJA = ("{{ hostvars | cloudstack.ovs.gre_mesh_networks(groups['kvm_hosts'], "
             "inventory_hostname) }}")


def measure_templating(size, workdir):
    """(t): the controller's cost of computing every host's peers, alone: N inventory hosts on
    the local connection, one assert task on the controller checking the computed networks,
    with the old Jinja, the filter, and no computation at all. Controller CPU seconds."""
    hosts = dict(('h%d' % i, dict(ansible_connection='local', cloudstack_host_id=i,
                                  cloudstack_underlay_ip='192.0.2.%d' % (10 + i % 240),
                                  cloudstack_gre_networks=KEYS)) for i in range(1, size + 1))
    inventory = os.path.join(workdir, 'tpl%d.json' % size)
    with open(inventory, 'w') as handle:
        json.dump({'all': {'vars': {'ansible_python_interpreter': PYTHON},
                           'children': {'kvm_hosts': {'hosts': hosts}}}}, handle)
    out = {}
    for label, expr in (('none', None), ('filter', NEW_JINJA), ('old_jinja', OLD_JINJA)):
        play = {'hosts': 'kvm_hosts', 'gather_facts': False, 'tasks': [{
            'ansible.builtin.assert': {'quiet': True, 'that': [
                'nets | length == %d' % NETWORKS,
                "nets | map(attribute='peers') | map('length') | unique == [%d]" % (size - 1)]
                if expr else ['true']}}]}
        if expr:
            play['vars'] = {'nets': expr}
        path = os.path.join(workdir, 'tpl-%s.json' % label)
        with open(path, 'w') as handle:
            json.dump([play], handle)
        run = run_playbook(path, inventory, min(size, 32), workdir, '(t) %s' % label)
        out[label] = run['cpu']
    print('    (t) controller CPU for %d hosts: no peers %.1f s, filter %.1f s, old Jinja %.1f s'
          % (size, out['none'], out['filter'], out['old_jinja']), flush=True)
    return out


def fleet_forks(size):
    """Forks for a fleet of ``size`` hosts: all of them up to 32, then 32. In the lab every host's
    work shares the controller's cores, so more forks make each host slower (ping at 128 hosts:
    67-78 s with 128 forks against 34-46 s with 32); ``measure_all_forks`` measures what a fork
    per host, which docs/scale.md recommends for a real zone, costs the controller."""
    return min(size, MAX_FORKS)


def host_module_env(workdir):
    """A PYTHONPATH for a lab host's own /usr/bin/python3 with what AnsiballZ would bring:
    ``ansible.module_utils`` (from the venv's ansible-core) and this collection - and nothing
    else of the venv, so ovsdbapp and the OVS library are the host's (Debian's) as in a run."""
    import ansible as ansible_pkg
    path = os.path.join(workdir, 'host-modpath')
    if not os.path.isdir(path):
        os.makedirs(path)
        os.symlink(os.path.dirname(ansible_pkg.__file__), os.path.join(path, 'ansible'))
        os.symlink(os.path.join(COLLECTIONS, 'ansible_collections'),
                   os.path.join(path, 'ansible_collections'))
    return path


def mesh_args(lab, host, timeout=60):
    """gre_network's arguments for ``host`` as gre_mesh.yml passes them (full mesh)."""
    peers = [dict(host_id=h.host_id, remote_ip=h.mgmt_ip) for h in lab.hosts if h is not host]
    return dict(host_id=host.host_id, datapath_type='netdev', timeout=timeout,
                networks=[dict(key=k, peers=peers) for k in KEYS])


def measure_one_host(lab, inventory, forks, workdir):
    """One host's re-run on an otherwise idle lab (the fleet converged, nothing else running):

    * ``limit``: gre_mesh.yml with ``--limit kvm1`` (same inventory and settings as (r)): wall,
      controller CPU, and the task's time (controller start to result: worker, SSH, Python and
      the module on the host);
    * ``module``: the gre_network module process alone on kvm1 (its /usr/bin/python3 in its
      namespaces, arguments on stdin as AnsiballZ passes them, no SSH, no Ansible): wall
      seconds of the process - the host's own share of a re-run. Best of three.
    """
    host = lab.hosts[0]
    run = run_playbook(os.path.join(ROOT, 'playbooks', 'gre_mesh.yml'), inventory, forks,
                       workdir, 'one host --limit %s' % host.name, argv=('--limit', host.name))
    task = task_times(run['events'], 'gre_network')
    if task['hosts'] != 1 or task['changed']:
        raise SystemExit('one host --limit %s: %s' % (host.name, run['events']))
    payload = json.dumps({'ANSIBLE_MODULE_ARGS': dict(mesh_args(lab, host),
                                                      _ansible_check_mode=False)})
    module = 'ansible_collections.cloudstack.ovs.plugins.modules.gre_network'
    env = 'PYTHONPATH=%s' % host_module_env(workdir)
    secs = []
    for _attempt in range(3):
        start = time.monotonic()
        proc = host.run('env', env, HOST_PYTHON, '-m', module, input=payload, timeout=600,
                        check=False)
        secs.append(time.monotonic() - start)
        try:
            result = json.loads(proc.stdout)
        except ValueError:
            raise SystemExit('gre_network on %s printed no JSON: %s %s'
                             % (host.name, proc.stdout[-2000:], proc.stderr[-2000:]))
        if result.get('failed') or result.get('changed'):
            raise SystemExit('gre_network alone on %s: %s' % (host.name, proc.stdout[-2000:]))
    out = dict(wall=run['wall'], cpu=run['cpu'], task=task['max'], module=min(secs),
               module_runs=secs)
    print('    one host (%s, idle lab): --limit run %.1f s (controller CPU %.1f s, task %.2f s); '
          'the module alone %.2f s' % (host.name, out['wall'], out['cpu'], out['task'],
                                       out['module']), flush=True)
    return out


def measure_doctor(lab, inventory, forks, workdir, all_forks=None):
    """The mesh doctor over all hosts against one idempotent gre_mesh.yml run, in the same state.

    The doctor needs each host's underlay address on an OVS bridge (its endpoint-not-on-ovs
    check and the traces of native tunnel routing), as the cloudbr role leaves a real host, so
    every host's eth0 moves onto cloudbr0 first, and each host's OVS learns its peers' addresses
    (``LabHost.fill_neighbour_cache``: a fresh lab has had no traffic); then (rd) gre_mesh.yml
    (must change nothing) and the doctor (must be clean): wall, controller CPU, the per-host
    read task's median/max. With ``all_forks`` (the size, above ``forks``) the pair again with a
    fork per host and ``internal_poll_interval`` at POLL_INTERVAL (docs/scale.md's settings).
    """
    start = time.monotonic()
    addresses = [host.mgmt_ip for host in lab.hosts]

    def move(host):
        host.uplink_to_bridge('cloudbr0', 'eth0')
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(move, lab.hosts))
        # what the peers' traffic would have done on a zone: fill the tunnel neighbour caches
        peers = list(zip(addresses, pool.map(lambda h: h.nic_mac('eth0'), lab.hosts)))
        list(pool.map(lambda h: h.fill_neighbour_cache(p for p in peers if p[0] != h.mgmt_ip),
                      lab.hosts))
    uplink = time.monotonic() - start
    out = doctor_against_rerun(inventory, forks, workdir, '')
    out['uplink'] = uplink
    print('    underlay onto cloudbr0 and neighbours %.1f s' % uplink, flush=True)
    if all_forks:
        out['all_forks'] = doctor_against_rerun(
            inventory, all_forks, workdir, ', forks %d, poll' % all_forks,
            ANSIBLE_CONFIG=poll_config(workdir))
        out['all_forks'].update(forks=all_forks, poll=POLL_INTERVAL)
    return out


def doctor_against_rerun(inventory, forks, workdir, label, **extra):
    """(rd) gre_mesh.yml, which must change nothing, then the doctor, with the same settings."""
    mesh = os.path.join(ROOT, 'playbooks', 'gre_mesh.yml')
    rerun = run_playbook(mesh, inventory, forks, workdir, '(rd) re-run before the doctor' + label,
                         **extra)
    r_tasks = task_times(rerun['events'], 'gre_network')
    if r_tasks['changed']:
        raise SystemExit('(rd)%s: %d hosts changed' % (label, r_tasks['changed']))
    report = os.path.join(workdir, 'doctor-report')
    doctor = run_playbook(os.path.join(ROOT, 'playbooks', 'mesh_doctor.yml'), inventory, forks,
                          workdir, 'mesh doctor' + label, allow_failed=True,
                          argv=('-e', 'mesh_doctor_dir=%s' % report), **extra)
    with open(os.path.join(report, 'report.json')) as handle:
        data = json.load(handle)
    kinds, examples = {}, {}
    for finding in data.get('findings', []):
        kind = finding.get('kind') or '?'
        kinds[kind] = kinds.get(kind, 0) + 1
        # the first finding of each kind, for a look at what went wrong (bench/out/fleet.json)
        examples.setdefault(kind, dict((k, str(finding.get(k))[:500]) for k in (
            'host', 'network', 'peer', 'what')))
    shutil.rmtree(report, ignore_errors=True)
    out = dict(rd=rerun['wall'], rd_cpu=rerun['cpu'], d=doctor['wall'],
               d_cpu=doctor['cpu'], d_rc=doctor['rc'], clean=bool(data.get('clean')),
               findings=kinds, examples=examples,
               d_task=task_times(doctor['events'], 'gre_mesh_info'),
               # the report task (run_once, on the controller): its wall time
               d_report=sum(e['end'] - e['start'] for e in doctor['events']
                            if e['action'].endswith('mesh_doctor_write')))
    print('    doctor%s: %.1f s (controller CPU %.1f s, report task %.1f s), %s; gre_mesh.yml '
          're-run in the same state %.1f s (CPU %.1f s)'
          % (label, out['d'], out['d_cpu'], out['d_report'], 'clean' if out['clean'] else
             'NOT clean: %s; first of each: %s' % (kinds, json.dumps(examples)[:3000]),
             out['rd'], out['rd_cpu']), flush=True)
    return out


# docs/scale.md, "Settings a fleet needs": how often ansible-playbook looks for results while
# every host is running (default 0.001 s)
POLL_INTERVAL = 0.05


def poll_config(workdir):
    """An ansible.cfg with ``internal_poll_interval`` at POLL_INTERVAL: its path."""
    config = os.path.join(workdir, 'poll.cfg')
    with open(config, 'w') as handle:
        handle.write('[defaults]\ninternal_poll_interval = %s\n' % POLL_INTERVAL)
    return config


def measure_all_forks(mesh, ping, inventory, size, workdir):
    """(p) and (r) with one fork per host and ``internal_poll_interval`` at POLL_INTERVAL.

    With fewer forks than hosts, ansible-playbook's main process waits for a free fork in a
    loop that sleeps 0.1 ms at a time, for as long as the hosts' modules run: in the lab, where
    every host's module shares the controller's cores, that wait is most of what the re-run
    costs the controller over ping (docs/scale.md). With a fork per host it waits for results
    instead, every ``internal_poll_interval``: what is left is the controller's own work per
    host."""
    config = poll_config(workdir)
    floor = run_playbook(ping, inventory, size, workdir, '(p) forks %d, poll' % size,
                         ANSIBLE_CONFIG=config)
    rerun = run_playbook(mesh, inventory, size, workdir, '(r) forks %d, poll' % size,
                         ANSIBLE_CONFIG=config)
    changed = task_times(rerun['events'], 'gre_network')['changed']
    if changed:
        raise SystemExit('(r) forks %d: %d hosts changed' % (size, changed))
    out = dict(forks=size, poll=POLL_INTERVAL, p=floor['wall'], p_cpu=floor['cpu'],
               r=rerun['wall'], r_cpu=rerun['cpu'])
    print('    forks %d, internal_poll_interval %s: (r) %.1f s (CPU %.1f s), (p) %.1f s '
          '(CPU %.1f s)' % (size, POLL_INTERVAL, out['r'], out['r_cpu'], out['p'], out['p_cpu']),
          flush=True)
    return out


def measure_fleet(size, workdir, forks=None, sweep=False, doctor=True, forks_sweep=False):
    forks = forks or fleet_forks(size)
    check_capacity(size, start_ovs=True)
    lab = Lab(os.path.join(workdir, 'lab%d' % size), hosts=size)
    print('--> %d hosts x %d networks (forks %d): creating the lab' % (size, NETWORKS, forks),
          flush=True)
    start = time.monotonic()
    lab.create(start_ovs=True, other_config=FLEET_OVS_CONFIG)
    created = time.monotonic() - start
    try:
        inventory = lab.write_mesh_inventory(os.path.join(workdir, 'inventory%d.yml' % size),
                                             KEYS)
        mesh = os.path.join(ROOT, 'playbooks', 'gre_mesh.yml')
        ping = ping_playbook(workdir)
        cold = run_playbook(ping, inventory, forks, workdir, 'warm-up ping')
        # a host that fails (e.g. a timeout under load) is counted, and the re-run must fix it
        first = run_playbook(mesh, inventory, forks, workdir, '(f) first converge',
                             allow_failed=True)
        f_tasks = task_times(first['events'], 'gre_network')
        f_failed = [e['host'] for e in first['events'] if e['status'] == 'failed']
        print('    (f) %.1f s, controller CPU %.1f s, %d failed' % (
            first['wall'], first['cpu'], len(f_failed)), flush=True)
        if f_failed:
            failed_event = [e for e in first['events'] if e['status'] == 'failed'][0]
            print('    (f): %d hosts FAILED: %s; first: %s'
                  % (len(f_failed), ', '.join(f_failed), json.dumps(failed_event)[:1500]),
                  flush=True)
        rerun = run_playbook(mesh, inventory, forks, workdir, '(r) re-run')
        floor = run_playbook(ping, inventory, forks, workdir, '(p) ping')
        extra = {}
        if sweep:
            # the same re-run and floor with fewer forks, and the re-run with strategy free
            for forks_alt in (8,):
                if forks_alt < forks:
                    extra['r_forks%d' % forks_alt] = run_playbook(
                        mesh, inventory, forks_alt, workdir, '(r) forks %d' % forks_alt)['wall']
                    extra['p_forks%d' % forks_alt] = run_playbook(
                        ping, inventory, forks_alt, workdir, '(p) forks %d' % forks_alt)['wall']
            extra['r_free'] = run_playbook(mesh, inventory, forks, workdir, '(r) free',
                                           ANSIBLE_STRATEGY='free')['wall']
        all_forks = None
        if forks_sweep and size > forks:
            # the floor with one fork per host, against the row's (forks = 32)
            alt = run_playbook(ping, inventory, size, workdir, '(p) forks %d' % size)
            extra['p_forks%d' % size] = alt['wall']
            extra['p_forks%d_cpu' % size] = alt['cpu']
            all_forks = measure_all_forks(mesh, ping, inventory, size, workdir)
        if extra:
            print('    sweep: %s' % ', '.join('%s %.1f s' % kv for kv in sorted(extra.items())),
                  flush=True)
        r_tasks = task_times(rerun['events'], 'gre_network')
        if r_tasks['changed'] != len(f_failed):
            raise SystemExit('(r): %d hosts changed on the re-run, %d failed in (f)'
                             % (r_tasks['changed'], len(f_failed)))
        want = NETWORKS * (size - 1)
        wrong = [(h.name, n) for h, n in ((h, ports_on(h)) for h in lab.hosts) if n != want]
        if wrong:
            raise SystemExit('ports per host, expected %d: %s' % (want, wrong))
        per_host, total_kib = lab.memory()
        idle = lab_idle_cpu(lab)
        one = measure_one_host(lab, inventory, forks, workdir)
        raw = raw_transaction(size - 1)
        row = dict(hosts=size, forks=forks, networks=NETWORKS, ports_per_host=want,
                   ports=want * size, f=first['wall'], f_cpu=first['cpu'], r=rerun['wall'],
                   f_busy=first['busy'], r_busy=rerun['busy'], p_busy=floor['busy'],
                   r_cpu=rerun['cpu'], p=floor['wall'], p_cpu=floor['cpu'], p_cold=cold['wall'],
                   f_task=f_tasks, r_task=r_tasks, f_failed=len(f_failed),
                   p_task=task_times(floor['events'], 'ping'),
                   raw_one=raw, raw_sum=raw * size,
                   rss_mib=total_kib / 1024.0,
                   rss_host_mib=max(sum(m.values()) for _n, m in per_host) / 1024.0,
                   created=created, idle_cores=idle, one=one, sweep=extra)
        if all_forks:
            row['all_forks'] = all_forks
        if doctor:
            row['doctor'] = measure_doctor(lab, inventory, forks, workdir,
                                           all_forks=size if all_forks else None)
        print('    f %.1f s (cpu %.1f)  r %.1f s (cpu %.1f)  p %.1f s (cpu %.1f)  lab RSS %.0f MiB'
              ', idle lab %.2f cores' % (row['f'], row['f_cpu'], row['r'], row['r_cpu'], row['p'],
                                         row['p_cpu'], row['rss_mib'], idle), flush=True)
        return row
    finally:
        lab.destroy()


def lab_idle_cpu(lab, seconds=10.0):
    """Cores the lab's own processes (sshd, OVS daemons, keepers) use while nothing runs."""
    pids = [pid for host in lab.hosts for pid in netns_pids(host.netns)]

    def ticks():
        total = 0
        for pid in pids:
            try:
                with open('/proc/%d/stat' % pid) as handle:
                    fields = handle.read().rsplit(')', 1)[1].split()
                total += int(fields[11]) + int(fields[12])
            except (OSError, IndexError, ValueError):
                pass
        return total / float(os.sysconf('SC_CLK_TCK'))
    before = ticks()
    time.sleep(seconds)
    return (ticks() - before) / seconds


def measure_ports(count):
    """One host's gre_network (the module process, as Ansible runs it on a host) on a fresh
    switch: first converge and unchanged re-run, for ``count`` ports over PORT_NETWORKS."""
    per_net = count // PORT_NETWORKS
    switch = OvsSwitch().start()
    try:
        args = dict(host_id=1, datapath_type='netdev', db=switch.db, timeout=600,
                    networks=[dict(key=2001 + n, peers=[dict(host_id=p + 2, remote_ip=peer_ip(p))
                                                        for p in range(per_net)])
                              for n in range(PORT_NETWORKS)])
        out = {}
        for label, changed in (('first', True), ('rerun', False)):
            start = time.monotonic()
            result = run_module('gre_network', args, timeout=1800)
            out[label] = time.monotonic() - start
            if result.get('failed') or bool(result.get('changed')) != changed:
                raise SystemExit('%d ports, %s: %s' % (count, label, json.dumps(result)[:1000]))
        made = sum(len(switch.ovs.vsctl('list-ports', 'OVSTunnel%d' % (2001 + n)).split())
                   for n in range(PORT_NETWORKS))
        if made != per_net * PORT_NETWORKS:
            raise SystemExit('%d ports wanted, %d made' % (count, made))
        print('--> one host, %d ports: first %.2f s, re-run %.2f s'
              % (made, out['first'], out['rerun']), flush=True)
        return dict(ports=made, first=out['first'], rerun=out['rerun'])
    finally:
        switch.destroy()


# ---------------------------------------------------------------------------- report

def per_host(row, key):
    """Controller CPU seconds per host of run ``key`` ('f', 'r', 'p')."""
    return row[key + '_cpu'] / row['hosts']


def ratios(rows):
    """The targets of issue 20: (label, value, limit, met)."""
    out = []
    by_n = dict((r['hosts'], r) for r in rows)
    for size in (32, 128):
        if size in by_n:
            row = by_n[size]
            value = row['r_cpu'] / row['p_cpu']
            out.append(('N=%d controller CPU per host (r)/(p)' % size, value, 1.5, value <= 1.5))
            alt = row.get('all_forks')
            if alt:
                value = alt['r_cpu'] / alt['p_cpu']
                out.append(('N=%d controller CPU per host (r)/(p), forks %d, '
                            'internal_poll_interval %s' % (size, alt['forks'], alt['poll']),
                            value, 1.5, value <= 1.5))
    if 8 in by_n:
        value = by_n[8]['r'] / by_n[8]['p']
        out.append(('N=8 wall (r)/(p)', value, 1.5, value <= 1.5))
    top = max(by_n) if by_n else 0
    if 8 in by_n and top > 8:
        ports = by_n[top]['ports'] / float(by_n[8]['ports'])
        for key in ('f', 'r'):
            growth = by_n[top][key] / by_n[8][key]
            out.append(('(%s) growth 8->%d / ports growth %.0fx' % (key, top, ports),
                        growth / ports, 1.0, growth <= ports))
    if 128 in by_n:
        row = by_n[128]
        out.append(('N=128 (f) hosts failed', row['f_failed'], 0, row['f_failed'] == 0))
        out.append(('N=128 (r) hosts changed', row['r_task']['changed'], 0,
                    row['r_task']['changed'] == 0))
        doc = row.get('doctor')
        if doc:
            out.append(('N=128 doctor errors', 0 if doc['clean'] else sum(
                doc['findings'].values()), 0, doc['clean']))
            out.append(('N=128 doctor wall / gre_mesh.yml re-run (rd)', doc['d'] / doc['rd'],
                        1.0, doc['d'] <= doc['rd']))
            alt = doc.get('all_forks')
            if alt:
                out.append(('N=128 doctor wall / (rd), forks %d, internal_poll_interval %s'
                            % (alt['forks'], alt['poll']), alt['d'] / alt['rd'], 1.0,
                            alt['clean'] and alt['d'] <= alt['rd']))
    return out


def doctor_line(label, hosts, d):
    """One row of the doctor's table: a ``doctor_against_rerun`` result over ``hosts``."""
    return ('| %s | %.1f s | %.1f s | %.3f s | %.2f / %.2f s | %s | %.1f s | %.1f s | %.2f |' % (
        label, d['d'], d['d_cpu'], d['d_cpu'] / hosts, d['d_task']['median'],
        d['d_task']['max'], 'clean' if d['clean'] else ', '.join(
            '%s %d' % kv for kv in sorted(d['findings'].items())),
        d['rd'], d['rd_cpu'], d['d'] / d['rd']))


def table(rows, port_rows):
    lines = ['| hosts | forks | ports (per host) | (f) wall | (f) failed | (f) CPU | (r) wall | '
             '(r) CPU | (p) wall | (p) CPU | (p) cold | (r)/(p) | (f) / (2(p) + raw/cores) | '
             'task median/max (f) | task median/max (r) | raw ovsdbapp, summed | lab RSS |',
             '| ---: |' + ' ---: |' * 16]
    for r in rows:
        f_target = 2 * r['p'] + r['raw_sum'] / CORES
        lines.append('| %d | %d | %d (%d) | %.1f s | %d | %.1f s | %.1f s | %.1f s | %.1f s | '
                     '%.1f s | %.1f s | %.2f | %.2f | %.2f / %.2f s | %.2f / %.2f s | %.2f s | '
                     '%.0f MiB |'
                     % (r['hosts'], r['forks'], r['ports'], r['ports_per_host'], r['f'],
                        r['f_failed'], r['f_cpu'], r['r'], r['r_cpu'], r['p'], r['p_cpu'],
                        r['p_cold'], r['r'] / r['p'],
                        r['f'] / f_target, r['f_task']['median'], r['f_task']['max'],
                        r['r_task']['median'], r['r_task']['max'], r['raw_sum'], r['rss_mib']))
    lines += ['', '| hosts | machine busy during (f) | (r) | (p) | of which not the controller: '
              '(f) | (r) | (p) |', '| ---: |' + ' ---: |' * 6]
    for r in rows:
        lines.append('| %d | %.1f s | %.1f s | %.1f s | %.1f s | %.1f s | %.1f s |' % (
            r['hosts'], r['f_busy'], r['r_busy'], r['p_busy'], r['f_busy'] - r['f_cpu'],
            r['r_busy'] - r['r_cpu'], r['p_busy'] - r['p_cpu']))
    lines += ['', '| hosts | forks | controller CPU per host (f) | (r) | (p) | (r)/(p) | '
              'one host, idle lab: --limit run | its task | the module alone | idle lab | '
              'lab created |', '| ---: |' + ' ---: |' * 10]
    for r in rows:
        one = r.get('one') or {}
        lines.append('| %d | %d | %.3f s | %.3f s | %.3f s | %.2f | %s | %s | %s | %s | %s |' % (
            r['hosts'], r['forks'], per_host(r, 'f'), per_host(r, 'r'), per_host(r, 'p'),
            r['r_cpu'] / r['p_cpu'], secs(one.get('wall')), secs(one.get('task')),
            secs(one.get('module')),
            '%.2f cores' % r['idle_cores'] if 'idle_cores' in r else '-',
            secs(r.get('created'), '%.0f s')))
    doctors = [r for r in rows if r.get('doctor')]
    if doctors:
        lines += ['', '| hosts | mesh doctor wall | CPU | per host | read task median/max | '
                  'findings | gre_mesh.yml re-run (rd) wall | CPU | doctor / (rd) |',
                  '| ---: |' + ' ---: |' * 4 + ' --- |' + ' ---: |' * 3]
        for r in doctors:
            d = r['doctor']
            lines.append(doctor_line(str(r['hosts']), r['hosts'], d))
            alt = d.get('all_forks')
            if alt:
                lines.append(doctor_line('%d (forks %d, poll %s)' % (
                    r['hosts'], alt['forks'], alt['poll']), r['hosts'], alt))
    lines += ['', '| hosts | (t) controller CPU: no peer computation | gre_mesh_networks filter | '
              'the former Jinja over hostvars |', '| ---: | ---: | ---: | ---: |']
    for r in rows:
        if r.get('t'):
            lines.append('| %d | %.1f s | %.1f s | %.1f s |' % (
                r['hosts'], r['t']['none'], r['t']['filter'], r['t']['old_jinja']))
    for r in rows:
        if r.get('sweep'):
            lines += ['', 'Settings at %d hosts (same lab, warm connections): ' % r['hosts'] +
                      '; '.join('%s %.1f s' % kv for kv in sorted(
                          dict(r['sweep'], **{'r_forks%d' % r['forks']: r['r'],
                                              'p_forks%d' % r['forks']: r['p']}).items())) + '.']
    for r in rows:
        alt = r.get('all_forks')
        if alt:
            lines += ['', 'One fork per host at %d hosts, `internal_poll_interval = %s` (same lab): '
                      '(r) %.1f s, controller CPU %.1f s (%.3f s a host); (p) %.1f s, %.1f s '
                      '(%.3f s a host); (r)/(p) controller CPU %.2f.'
                      % (r['hosts'], alt['poll'], alt['r'], alt['r_cpu'], alt['r_cpu'] / r['hosts'],
                         alt['p'], alt['p_cpu'], alt['p_cpu'] / r['hosts'],
                         alt['r_cpu'] / alt['p_cpu'])]
    lines += ['', '| ports on one host | first converge | per port | unchanged re-run |',
              '| ---: | ---: | ---: | ---: |']
    for p in port_rows:
        lines.append('| %d | %.2f s | %.2f ms | %.2f s |'
                     % (p['ports'], p['first'], 1000 * p['first'] / p['ports'], p['rerun']))
    lines += ['', '| target (issue 20) | measured | met |', '| --- | ---: | --- |']
    for label, value, limit, met in ratios(rows):
        lines.append('| %s <= %g | %s | %s |' % (label, limit, '%.2f' % value if isinstance(
            value, float) else value, 'yes' if met else 'NO'))
    return lines


def secs(value, fmt='%.2f s'):
    return '-' if value is None else fmt % value


def plot(rows, port_rows, path):
    """Three panels, drawn with graphviz (neato, pinned positions): wall times and total ports
    against N; one host's gre_network time against its port count; the controller's CPU per
    host against N."""
    import graphviz

    dot = graphviz.Graph('fleet', engine='neato', format='png')
    dot.attr(splines='line', outputorder='edgesfirst', bgcolor='white', dpi='96',
             label='cloudstack.ovs bench-fleet: gre_mesh.yml over N lab hosts x %d networks '
                   '(one run, %d cores)' % (NETWORKS, CORES), labelloc='t',
             fontname='Helvetica', fontsize='16')
    dot.attr('node', shape='point', width='0.08', fontname='Helvetica', fontsize='11')
    dot.attr('edge', penwidth='2')
    ids = iter(range(100000))

    def node(x, y, label=None, **kw):
        name = 'n%d' % next(ids)
        pos = '%.3f,%.3f!' % (x / 72.0, y / 72.0)  # neato reads pinned positions in inches
        if label is None:
            dot.node(name, '', pos=pos, **kw)
        else:
            dot.node(name, label, pos=pos, shape='plaintext', width='0', height='0', margin='0',
                     **kw)
        return name

    def panel(x0, title, xs, xlabel, series, ylabel, width=420, height=300, y0=60):
        xmax = max(xs) * 1.05
        ymax = max(v for _n, _c, vals in series for v in vals) * 1.1 or 1

        def at(x, y):
            return x0 + width * x / xmax, y0 + height * y / ymax
        node(x0 + width / 2, y0 + height + 30, title, fontsize='13')
        origin, xend, yend = node(*at(0, 0), style='invis'), node(*at(xmax, 0), style='invis'), \
            node(*at(0, ymax), style='invis')
        dot.edge(origin, xend, penwidth='1')
        dot.edge(origin, yend, penwidth='1')
        for x in xs:
            node(at(x, 0)[0], y0 - 15, '%g' % x)
        for i in range(1, 5):
            y = ymax / 1.1 * i / 4
            node(x0 - 28, at(0, y)[1], '%.3g' % y)
        node(x0 + width / 2, y0 - 40, xlabel)
        node(x0 - 20, y0 + height + 12, ylabel)
        for index, (name, color, vals) in enumerate(series):
            prev = None
            for x, y in zip(xs, vals):
                cur = node(*at(x, y), color=color, fillcolor=color, style='filled')
                if prev is not None:
                    dot.edge(prev, cur, color=color)
                prev = cur
            node(x0 + width + 80, y0 + height - 18 * index, name, fontcolor=color)

    ns = [r['hosts'] for r in rows]
    top = 520  # the first row of panels; the second row sits at y0=60
    panel(60, 'gre_mesh.yml over the fleet: wall time and total ports', ns, 'hosts (N)', [
        ('(f) first converge, s', '#d62728', [r['f'] for r in rows]),
        ('(r) re-run, s', '#1f77b4', [r['r'] for r in rows]),
        ('(p) ping floor, s', '#7f7f7f', [r['p'] for r in rows]),
        ('ports / 1000', '#2ca02c', [r['ports'] / 1000.0 for r in rows]),
    ], 'seconds | ports/1000', y0=top)
    cpu = [('(f) first converge', '#d62728', [per_host(r, 'f') for r in rows]),
           ('(r) re-run', '#1f77b4', [per_host(r, 'r') for r in rows]),
           ('(p) ping floor', '#7f7f7f', [per_host(r, 'p') for r in rows])]
    if all(r.get('doctor') for r in rows):
        cpu.append(('mesh doctor', '#9467bd', [r['doctor']['d_cpu'] / r['hosts'] for r in rows]))
    panel(60, "the controller's CPU per host and run", ns, 'hosts (N)', cpu, 'CPU seconds', y0=60)
    if port_rows:
        series = [('first converge, s', '#d62728', [p['first'] for p in port_rows]),
                  ('unchanged re-run, s', '#1f77b4', [p['rerun'] for p in port_rows])]
        panel(700, "one host's gre_network against its ports", [p['ports'] for p in port_rows],
              'tunnel ports on the host', series, 'seconds', y0=top)
    base = os.path.splitext(path)[0]
    dot.render(base, cleanup=True)
    return path


def write_scale_md(lines, meta):
    if not os.path.exists(SCALE_MD):
        return False
    with open(SCALE_MD) as handle:
        text = handle.read()
    if MARK_START not in text or MARK_END not in text:
        return False
    head, rest = text.split(MARK_START, 1)
    _old, tail = rest.split(MARK_END, 1)
    block = [MARK_START, '', meta, ''] + lines + ['', MARK_END]
    with open(SCALE_MD, 'w') as handle:
        handle.write(head + '\n'.join(block) + tail)
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--quick', action='store_true',
                        help='development: N=8 and 250/1,000 ports only')
    parser.add_argument('--sizes', default=None, help='comma-separated host counts')
    parser.add_argument('--ports', default=None, help='comma-separated port counts')
    parser.add_argument('--no-docs', action='store_true',
                        help='do not write docs/scale.md and docs/images/fleet.png')
    parser.add_argument('--forks', type=int, default=None,
                        help='forks for every size (default: the size, at most %d)' % MAX_FORKS)
    parser.add_argument('--no-doctor', action='store_true',
                        help='leave out the mesh doctor (and the underlay move before it)')
    parser.add_argument('--sweep', action='store_true',
                        help='at the largest size up to 32: (r) and (p) with 8 forks, (r) with '
                             'strategy free (the settings of docs/scale.md)')
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit('bench/fleet.py needs root (network namespaces, Open vSwitch)')
    if args.sizes:
        sizes = [int(s) for s in args.sizes.split(',')]
    elif args.quick:
        sizes = [8]
    else:
        sizes = []
        for size in SIZES:
            try:
                check_capacity(size, start_ovs=True)
                sizes.append(size)
            except TestbedError as exc:
                print('%d hosts left out: %s' % (size, exc))
    ports = [int(p) for p in args.ports.split(',') if p] if args.ports is not None else \
        ([250, 1000] if args.quick else list(PORT_COUNTS))
    for size in sizes:
        check_capacity(size, start_ovs=True)  # refuse before anything starts
    os.makedirs(OUT, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix='csovs-fleet-')
    started = time.monotonic()
    sweep_at = max([s for s in sizes if s <= 32] or [0]) if args.sweep else 0
    forks_at = max(sizes) if not args.quick else 0
    rows, port_rows = [], []

    def save(done):
        meta = ('Measured %s UTC on %d cores (shared), MemAvailable %d MiB; `make bench-fleet`%s; '
                '%s %.0f s.' % (time.strftime('%Y-%m-%d %H:%M', time.gmtime()), CORES,
                                mem_available_mib(), ' ' + ' '.join(sys.argv[1:]) if sys.argv[1:]
                                else '', 'total' if done else 'PARTIAL, so far',
                                time.monotonic() - started))
        with open(os.path.join(OUT, 'fleet.json'), 'w') as handle:
            json.dump(dict(meta=meta, complete=done, rows=rows, ports=port_rows), handle,
                      indent=1)
        return meta
    try:
        for size in sizes:
            rows.append(measure_fleet(size, workdir, forks=args.forks, sweep=size == sweep_at,
                                      doctor=not args.no_doctor,
                                      forks_sweep=size == forks_at))
            save(False)
        for row in rows:
            row['t'] = measure_templating(row['hosts'], workdir) if row['hosts'] <= 64 else {}
            save(False)
        for count in ports:
            port_rows.append(measure_ports(count))
            save(False)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    meta = save(True)
    lines = table(rows, port_rows)
    print('\n' + meta + '\n\n' + '\n'.join(lines))
    if not args.no_docs:
        print('plot: %s' % os.path.relpath(plot(rows, port_rows, PNG), ROOT))
        if write_scale_md(lines, meta):
            print('table written into %s' % os.path.relpath(SCALE_MD, ROOT))
    return 0


if __name__ == '__main__':
    sys.exit(main())
