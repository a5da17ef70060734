# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The whole zone in one run: ``playbooks/gre_mesh.yml`` over a fleet of lab hosts, measured
against Ansible's own floor on the same hosts (``make bench-fleet``).

For N = 8, 16, 32 (and 64 when the machine's memory allows) lab hosts x 8 networks, full mesh
(N-1 tunnels per network per host), each size on a fresh lab (real sshd, ovsdb-server and
userspace ovs-vswitchd per host, reached over SSH):

(f) first converge of gre_mesh.yml: wall time and controller CPU (ansible-playbook, its workers
    and SSH clients: user + system time of the child processes);
(r) the idempotent re-run of the same playbook (must change nothing);
(p) Ansible's floor: a playbook with one ``ansible.builtin.ping`` task over the same hosts, with
    the same forks and connection settings (SSH pipelining, ControlPersist connections opened by
    a warm-up ping that is reported but not compared);
per-host task time (controller start -> result, median and max), the summed raw ovsdbapp
transaction time (one host's mesh in one transaction, timed on a fresh switch, times N), and
the lab's memory (RSS of every host's daemons).

Then one host's ``gre_network`` time against its port count (250, 1,000, 2,000, 4,000 ports on
a fresh switch, 10 networks), to show the cost stays linear.

Prints the table and the ratios against the targets of issue 14, writes bench/out/fleet.json,
the plot docs/images/fleet.png (drawn with graphviz: matplotlib is not a dependency) and the
table between the markers of docs/scale.md.  ``--quick`` (N = 8, 250 and 1,000 ports) is for
development. Run as root. Only documentation addresses, inside the lab's own namespaces.
"""

import argparse
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
    PYTHON,
    ansible,
    read_task_events,
    run_module,
    task_events_env,
)
from testbed.lab import check_capacity, mem_available_mib
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
PORT_COUNTS = (250, 1000, 2000, 4000)
PORT_NETWORKS = 10
CORES = os.cpu_count() or 1


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


def run_playbook(playbook, inventory, forks, workdir, what, allow_failed=False, **extra):
    """Run ansible-playbook; return wall seconds, controller CPU seconds, per-host task events."""
    times_file = os.path.join(workdir, 'times.jsonl')
    if os.path.exists(times_file):
        os.unlink(times_file)
    cpu0, busy0, start = children_cpu(), machine_busy(), time.monotonic()
    proc = ansible('ansible-playbook', '-i', inventory, playbook,
                   env=playbook_env(forks, times_file, **extra), timeout=3600)
    wall, cpu = time.monotonic() - start, children_cpu() - cpu0
    busy = machine_busy() - busy0
    if proc.returncode != 0 and not (allow_failed and proc.returncode == 2):
        raise SystemExit('%s failed (rc=%d):\n%s\n%s'
                         % (what, proc.returncode, proc.stdout[-4000:], proc.stderr[-2000:]))
    events = read_task_events(times_file)
    # busy - cpu: mostly the lab hosts (sshd, the module processes, OVS), plus anything else
    # running on the machine at the time
    return dict(wall=wall, cpu=cpu, busy=busy, events=events)


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


def measure_fleet(size, workdir, sweep=False):
    forks = size
    check_capacity(size, start_ovs=True)
    lab = Lab(os.path.join(workdir, 'lab%d' % size), hosts=size)
    print('--> %d hosts x %d networks (forks %d): creating the lab' % (size, NETWORKS, forks),
          flush=True)
    lab.create(start_ovs=True)
    try:
        inventory = lab.write_mesh_inventory(os.path.join(workdir, 'inventory%d.yml' % size),
                                             KEYS)
        mesh = os.path.join(ROOT, 'playbooks', 'gre_mesh.yml')
        ping = ping_playbook(workdir)
        cold = run_playbook(ping, inventory, forks, workdir, 'warm-up ping')
        # a host that fails (e.g. a timeout under load) is counted, and the re-run must fix it
        first = run_playbook(mesh, inventory, forks, workdir, '(f) first converge',
                             allow_failed=True)
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
            print('    sweep: %s' % ', '.join('%s %.1f s' % kv for kv in sorted(extra.items())),
                  flush=True)
        f_tasks = task_times(first['events'], 'gre_network')
        r_tasks = task_times(rerun['events'], 'gre_network')
        f_failed = [e['host'] for e in first['events'] if e['status'] == 'failed']
        if f_failed:
            print('    (f): %d hosts FAILED: %s' % (len(f_failed), ', '.join(f_failed)),
                  flush=True)
        if r_tasks['changed'] != len(f_failed):
            raise SystemExit('(r): %d hosts changed on the re-run, %d failed in (f)'
                             % (r_tasks['changed'], len(f_failed)))
        want = NETWORKS * (size - 1)
        wrong = [(h.name, n) for h, n in ((h, ports_on(h)) for h in lab.hosts) if n != want]
        if wrong:
            raise SystemExit('ports per host, expected %d: %s' % (want, wrong))
        per_host, total_kib = lab.memory()
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
                   sweep=extra)
        print('    f %.1f s (cpu %.1f)  r %.1f s (cpu %.1f)  p %.1f s (cpu %.1f)  lab RSS %.0f MiB'
              % (row['f'], row['f_cpu'], row['r'], row['r_cpu'], row['p'], row['p_cpu'],
                 row['rss_mib']), flush=True)
        return row
    finally:
        lab.destroy()


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

def ratios(rows):
    out = []
    for row in rows:
        r_p = row['r'] / row['p']
        f_target = 2 * row['p'] + row['raw_sum'] / CORES
        out.append(('N=%d (r)/(p)' % row['hosts'], r_p, 1.5, r_p <= 1.5))
        out.append(('N=%d (f)/(2(p)+raw/cores)' % row['hosts'], row['f'] / f_target, 1.0,
                    row['f'] <= f_target))
    by_n = dict((r['hosts'], r) for r in rows)
    if 8 in by_n and 32 in by_n:
        ports = by_n[32]['ports'] / float(by_n[8]['ports'])
        for key in ('f', 'r'):
            growth = by_n[32][key] / by_n[8][key]
            out.append(('(%s) growth 8->32 / ports growth %.1fx' % (key, ports), growth / ports,
                        1.0, growth <= ports))
    return out


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
    lines += ['', '| ports on one host | first converge | per port | unchanged re-run |',
              '| ---: | ---: | ---: | ---: |']
    for p in port_rows:
        lines.append('| %d | %.2f s | %.2f ms | %.2f s |'
                     % (p['ports'], p['first'], 1000 * p['first'] / p['ports'], p['rerun']))
    lines += ['', '| target (issue 14) | measured | met |', '| --- | ---: | --- |']
    for label, value, limit, met in ratios(rows):
        lines.append('| %s <= %.1f | %.2f | %s |' % (label, limit, value, 'yes' if met else 'NO'))
    return lines


def plot(rows, port_rows, path):
    """Two panels, drawn with graphviz (neato, pinned positions): wall times and total ports
    against N; one host's gre_network time against its port count."""
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

    def panel(x0, title, xs, xlabel, series, ylabel, width=420, height=300):
        xmax = max(xs) * 1.05
        ymax = max(v for _n, _c, vals in series for v in vals) * 1.1 or 1

        def at(x, y):
            return x0 + width * x / xmax, 60 + height * y / ymax
        node(x0 + width / 2, 60 + height + 30, title, fontsize='13')
        origin, xend, yend = node(*at(0, 0), style='invis'), node(*at(xmax, 0), style='invis'), \
            node(*at(0, ymax), style='invis')
        dot.edge(origin, xend, penwidth='1')
        dot.edge(origin, yend, penwidth='1')
        for x in xs:
            node(at(x, 0)[0], 45, '%g' % x)
        for i in range(1, 5):
            y = ymax / 1.1 * i / 4
            node(x0 - 28, at(0, y)[1], '%.3g' % y)
        node(x0 + width / 2, 20, xlabel)
        node(x0 - 20, 60 + height + 12, ylabel)
        for index, (name, color, vals) in enumerate(series):
            prev = None
            for x, y in zip(xs, vals):
                cur = node(*at(x, y), color=color, fillcolor=color, style='filled')
                if prev is not None:
                    dot.edge(prev, cur, color=color)
                prev = cur
            node(x0 + width + 80, 60 + height - 18 * index, name, fontcolor=color)

    ns = [r['hosts'] for r in rows]
    panel(60, 'gre_mesh.yml over the fleet: wall time and total ports', ns, 'hosts (N)', [
        ('(f) first converge, s', '#d62728', [r['f'] for r in rows]),
        ('(r) re-run, s', '#1f77b4', [r['r'] for r in rows]),
        ('(p) ping floor, s', '#7f7f7f', [r['p'] for r in rows]),
        ('ports / 100', '#2ca02c', [r['ports'] / 100.0 for r in rows]),
    ], 'seconds | ports/100')
    if port_rows:
        series = [('first converge, s', '#d62728', [p['first'] for p in port_rows]),
                  ('unchanged re-run, s', '#1f77b4', [p['rerun'] for p in port_rows])]
        panel(700, "one host's gre_network against its ports", [p['ports'] for p in port_rows],
              'tunnel ports on the host', series, 'seconds')
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
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit('bench/fleet.py needs root (network namespaces, Open vSwitch)')
    if args.sizes:
        sizes = [int(s) for s in args.sizes.split(',')]
    elif args.quick:
        sizes = [8]
    else:
        sizes = [8, 16, 32]
        try:
            check_capacity(64, start_ovs=True)
            sizes.append(64)
        except TestbedError as exc:
            print('64 hosts left out: %s' % exc)
    ports = [int(p) for p in args.ports.split(',')] if args.ports else \
        ([250, 1000] if args.quick else list(PORT_COUNTS))
    for size in sizes:
        check_capacity(size, start_ovs=True)  # refuse before anything starts
    os.makedirs(OUT, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix='csovs-fleet-')
    started = time.monotonic()
    sweep_at = max([s for s in sizes if s <= 32] or [0])
    try:
        rows = [measure_fleet(size, workdir, sweep=size == sweep_at) for size in sizes]
        for row in rows:
            row['t'] = measure_templating(row['hosts'], workdir) if row['hosts'] <= 64 else {}
        port_rows = [measure_ports(count) for count in ports]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    meta = ('Measured %s UTC on %d cores (shared), MemAvailable %d MiB; `make bench-fleet`%s; '
            'total %.0f s.' % (time.strftime('%Y-%m-%d %H:%M', time.gmtime()), CORES,
                               mem_available_mib(), ' --quick' if args.quick else '',
                               time.monotonic() - started))
    lines = table(rows, port_rows)
    print('\n' + meta + '\n\n' + '\n'.join(lines))
    with open(os.path.join(OUT, 'fleet.json'), 'w') as handle:
        json.dump(dict(meta=meta, rows=rows, ports=port_rows), handle, indent=1)
    if not args.no_docs:
        print('plot: %s' % os.path.relpath(plot(rows, port_rows, PNG), ROOT))
        if write_scale_md(lines, meta):
            print('table written into %s' % os.path.relpath(SCALE_MD, ROOT))
    return 0


if __name__ == '__main__':
    sys.exit(main())
