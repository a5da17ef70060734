# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""``make lab``: three lab hosts, the collection's playbooks run over SSH, and the proof.

    lab.py up      create 3 bare lab hosts (their own Debian root: python3 and sshd only), run
                   playbooks/lab.yml, prove the result, write lab/out/
    lab.py up --hosts 32 --networks 8
                   a fleet: hosts that only carry the GRE mesh (they share the machine's /usr, for
                   memory; OVS started by the testbed, no DPDK or cloudbr), playbooks/gre_mesh.yml
                   over them, pings on a sample
    lab.py down    remove everything the lab created (processes by pid, namespaces, lab/run)

What it proves, in order: kvm_host.yml makes the bare hosts ready (it installs Open vSwitch and the
Python libraries the modules import, from Debian's mirror through the lab's package proxy, and the
modules run with each host's /usr/bin/python3); every "VM" pair inside a guest network pings and nothing crosses
between networks; the underlay carries GRE with each network's key; a second run changes
nothing; after a tunnel port is deleted and a bridge setting is changed behind the playbooks'
back, a run repairs exactly those two; CloudStack's agent, replayed on every host, finds every
bridge set up and changes nothing; the mesh doctor (playbooks/mesh_doctor.yml) is clean,
names three faults made behind its back with their fix, and is clean again after gre_mesh.yml.
The report (Markdown, and the mesh as SVG and PNG drawn with graphviz) goes to lab/out/.
"""

import argparse
import collections
import concurrent.futures
import json
import os
import re
import sys
import time

# the testbed: tests/ is on the venv's path (make venv writes a .pth file naming it); the
# collection: make lab runs this with PYTHONPATH naming .build/link (make link)
from testbed import Lab, TestbedError
from testbed.ansible_cli import ansible, read_task_events, task_events_env
from testbed.agent import AgentReplay, replay_mesh
from testbed.lab import FLEET_OVS_CONFIG, check_capacity
from testbed.rootfs import mirror_hosts
from testbed.ovs import VSWITCHD_DPDK, dpdk_vswitchd_link
from ansible_collections.cloudstack.ovs.plugins.module_utils.mesh_picture import (
    mesh_dot,
)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

RUN_DIR = os.path.join(HERE, 'run')
OUT_DIR = os.path.join(HERE, 'out')
INVENTORY = os.path.join(HERE, 'inventory.yml')
EVENTS = os.path.join(RUN_DIR, 'events.jsonl')
NETWORKS = (1001, 1002)
NR_HUGEPAGES = '/proc/sys/vm/nr_hugepages'
HUGEPAGES_SAVED = os.path.join(RUN_DIR, 'nr_hugepages.before')
DPDK_PAGES = 512
# One "VM" per host and network; both networks share one subnet on purpose, so that a
# ping between networks would succeed if the GRE isolation let it through.
VM_SUBNET = '203.0.113.%d'


def vm_ip(key, host):
    return VM_SUBNET % (10 * (NETWORKS.index(key) + 1) + host.index)


class Step(object):
    """One line per lab step on stdout, with its wall time."""

    def __init__(self, log):
        self.log = log
        self.started = time.monotonic()

    def __call__(self, text):
        elapsed = time.monotonic() - self.started
        print('==> [lab %5.1fs] %s' % (elapsed, text), flush=True)
        self.log.append('%s (at %.1f s)' % (text, elapsed))


def run_playbook(playbook, extra=()):
    """Run a playbook as an operator would (its output on the terminal, through the testbed's
    runner: the hosts' interpreter is the inventory's); return the task events it recorded."""
    if os.path.exists(EVENTS):
        os.unlink(EVENTS)
    argv = ['ansible-playbook', '-i', INVENTORY, os.path.join(ROOT, 'playbooks', playbook)]
    argv += list(extra)
    print('$ ' + ' '.join(os.path.relpath(c, ROOT) if c.startswith(ROOT) else c for c in argv),
          flush=True)
    env = task_events_env(EVENTS)
    # the terminal's colours, as ansible-playbook run by hand shows them
    env.update(ANSIBLE_NOCOLOR=os.environ.get('ANSIBLE_NOCOLOR', '0'), ANSIBLE_PIPELINING='True',
               ANSIBLE_FORKS=os.environ.get('ANSIBLE_FORKS', '5'))
    proc = ansible(*argv, env=env, live=True, timeout=None)
    events = read_task_events(EVENTS)
    if proc.returncode != 0:
        raise TestbedError('ansible-playbook %s failed (rc=%d)' % (playbook, proc.returncode))
    return events


def changed_events(events):
    return [e for e in events if e['changed'] and e['status'] == 'ok']


def dpdk_available(bare=False):
    """OVS-DPDK needs hugepages; a shared-/usr host also the machine's DPDK build (a bare host
    installs openvswitch-switch-dpdk itself)."""
    return (bare or os.access(VSWITCHD_DPDK, os.X_OK)) and os.path.exists(NR_HUGEPAGES)


def save_hugepages():
    """Hugepages are the machine's: remember the count so that lab-down can put it back."""
    with open(NR_HUGEPAGES) as handle, open(HUGEPAGES_SAVED, 'w') as saved:
        saved.write(handle.read())


def restore_hugepages():
    if os.path.exists(HUGEPAGES_SAVED):
        with open(HUGEPAGES_SAVED) as saved, open(NR_HUGEPAGES, 'w') as handle:
            handle.write(saved.read())


def host_vars(lab, dpdk_host):
    """Inventory variables an operator would write for these hosts."""
    out = {}
    for host in lab.hosts:
        hvars = dict(
            cloudstack_gre_networks=list(NETWORKS),
            # lab hosts have no OVS kernel module: userspace datapath, OVS started by ovs-ctl
            openvswitch_kernel_module=False,
            cloudbr_datapath_type='netdev',
            cloudbr_bridges=[dict(name='cloudbr0', uplink='eth0'),
                             dict(name='cloudbr1', uplink='eth1')],
            cloudstack_gre_datapath_type='netdev',
            cloudstack_dpdk_enabled=False,
        )
        if not lab.bare:
            # Hosts sharing the machine's /usr run its packages (bindep.txt, profile host) and
            # cannot install any: apt there would be the machine's, without a way out.
            hvars.update(openvswitch_install=False, cloudbr_install_tools=False)
        if host is dpdk_host:
            # OVS-DPDK on this one host, sized for this machine (2 MiB pages, 1 GiB in all; the
            # DPDK build started directly, as hosts without the kernel module need). A bare host
            # gets openvswitch-switch-dpdk from the openvswitch role; a host sharing the
            # machine's /usr runs the machine's DPDK build.
            hvars.update(cloudstack_dpdk_enabled=True,
                         dpdk_hugepages=DPDK_PAGES, dpdk_socket_mem='256',
                         dpdk_lcore_cpus='0', dpdk_pmd_cpus='1',
                         dpdk_extra='--file-prefix=%s --no-pci' % lab.prefix,
                         dpdk_vhost_sock_dir='vhu', dpdk_hugetlbfs_mount='/run/hugepages',
                         dpdk_ovs_run_dir='/run/openvswitch', dpdk_restart='direct')
            if not lab.bare:
                hvars.update(dpdk_vswitchd_binary=dpdk_vswitchd_link(RUN_DIR))
        out[host.name] = hvars
    return out


# ---------------------------------------------------------------------------- the proof

def add_vms(lab):
    vms = collections.OrderedDict()
    for key in NETWORKS:
        for host in lab.hosts:
            vms[(key, host.name)] = host.add_vm('OVSTunnel%d' % key, 'n%d' % key,
                                                '%s/24' % vm_ip(key, host))
    return vms


def ping_matrix(vms):
    """Every ordered pair of VMs: (src, dst) -> reached. Runs the pings in parallel."""
    pairs = [(a, b) for a in vms for b in vms if a != b]
    with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
        futures = dict((pool.submit(vms[a].ping, vms[b].ip, 2, 4), (a, b)) for a, b in pairs)
        return dict((futures[f], f.result()) for f in concurrent.futures.as_completed(futures))


def matrix_ok(matrix):
    """Reached exactly when both VMs are in the same network."""
    return all(reached == (a[0] == b[0]) for (a, b), reached in matrix.items())


def gre_keys_on_underlay(lab, vms):
    """Ping across the mesh while tcpdump watches the underlay; return the GRE keys seen."""
    capture = lab.tcpdump(lan='lan0', count=40, timeout=15)
    for key in NETWORKS:
        src = vms[(key, lab.hosts[0].name)]
        for host in lab.hosts[1:]:
            src.ping(vms[(key, host.name)].ip, 3, 4)
    out, _err = capture.communicate()
    return sorted(set(int(k, 16) for k in re.findall(r'key=(0x[0-9a-f]+)', out))), out


def tunnel_state(lab):
    """Per host: the GRE ports as OVS has them (name, remote_ip, key, ofport)."""
    state = {}
    for host in lab.hosts:
        rows = host.ovs.vsctl('--format=json', '--columns=name,type,options,ofport', 'list',
                              'Interface')
        data = json.loads(rows)
        tunnels = []
        for name, itype, options, ofport in data['data']:
            if itype != 'gre':
                continue
            opts = dict(options[1])
            tunnels.append(dict(name=name, remote_ip=opts.get('remote_ip'), key=opts.get('key'),
                                ofport=ofport))
        state[host.name] = sorted(tunnels, key=lambda t: t['name'])
    return state


def agent_replay_check(lab, vms):
    """CloudStack's agent replayed (tests/testbed/agent.py) on every host for every network
    after the playbooks: its own check calls every bridge configured, it runs no setup (so STP
    stays off), and the ping matrix is unchanged."""
    results = replay_mesh(lab, NETWORKS)
    setups = sum(1 for steps in results.values() for s in steps if s['setup_ran'])
    configured = stp_on = 0
    for host in lab.hosts:
        agent = AgentReplay(host)
        for key in NETWORKS:
            configured += agent.is_configured('OVSTunnel%d' % key)
            stp_on += host.ovs.get('Bridge', 'OVSTunnel%d' % key, 'stp_enable') == 'true'
    matrix = ping_matrix(vms)
    inside = sum(1 for (a, b), r in matrix.items() if a[0] == b[0] and r)
    inside_total = sum(1 for (a, b) in matrix if a[0] == b[0])
    crossing = sum(1 for (a, b), r in matrix.items() if a[0] != b[0] and r)
    total = len(lab.hosts) * len(NETWORKS)
    ok = configured == total and not setups and not stp_on and matrix_ok(matrix)
    detail = ('%d/%d bridges configured for the agent, %d setups run, STP on %d bridges; '
              'ping %d/%d inside, %d/%d across'
              % (configured, total, setups, stp_on, inside, inside_total, crossing,
                 len(matrix) - inside_total))
    return ('agent replay after the playbooks', ok, detail)


def dpdk_check(host):
    """OVS-DPDK up on the DPDK host, with a vhost-user port of each mode."""
    ovs = host.ovs
    initialized = ovs.get('Open_vSwitch', '.', 'dpdk_initialized') == 'true'
    types = dict((p, ovs.get('Interface', p, 'type')) for p in ('csdpdk-1', 'csdpdk-2'))
    socket = os.path.exists(host.path('/run/openvswitch/vhu/csdpdk-1'))
    client = ovs.get('Interface', 'csdpdk-2', 'options:vhost-server-path').strip('"')
    wanted = {'csdpdk-1': 'dpdkvhostuser', 'csdpdk-2': 'dpdkvhostuserclient'}
    ok = initialized and socket and types == wanted and client == '/run/openvswitch/vhu/csdpdk-2'
    detail = ('%s: dpdk_initialized=%s; csdpdk-1 %s (socket %s); csdpdk-2 %s -> %s'
              % (host.name, str(initialized).lower(), types['csdpdk-1'],
                 'present' if socket else 'MISSING', types['csdpdk-2'], client or '?'))
    return ('OVS-DPDK and vhost-user ports', ok, detail)


def host_packages(host):
    """(packages installed beyond the base, those installed by name, "python version ovsdbapp
    ovs" as the host's /usr/bin/python3 sees them)."""
    script = ("dpkg-query -W -f '${Package}\\n' | sort; echo ---; apt-mark showmanual | sort; "
              "echo ---; /usr/bin/python3 -c 'import sys, importlib.metadata as m; "
              "print(sys.executable, sys.version.split()[0], m.version(\"ovsdbapp\"), "
              "m.version(\"ovs\"))'")
    out = host.sh(script, check=False).stdout.split('---\n')
    installed, manual = set(out[0].split()), set(out[1].split()) if len(out) > 1 else set()
    base = host.lab.base
    with open(os.path.join(base, 'var', 'lib', 'dpkg', 'status')) as handle:
        base_pkgs = set(re.findall(r'^Package: (\S+)$', handle.read(), re.M))
    added = sorted(installed - base_pkgs)
    asked = sorted(p for p in manual & set(added))
    words = out[2].split() if len(out) > 2 else []
    python = ('%s (Python %s, ovsdbapp %s, ovs %s)' % tuple(words)) if len(words) == 4 else \
        'no working /usr/bin/python3 with ovsdbapp'
    return added, asked, python


def bare_ready_check(lab, again):
    """The row "bare host -> ready": what kvm_host.yml installed on each bare host, the Python
    the modules ran with, that the second run changed nothing, and what the proxy fetched."""
    parts = []
    ok = not again
    for host in lab.hosts:
        added, asked, python = host_packages(host)
        ok = ok and 'python3-ovsdbapp' in asked and any(p.startswith('openvswitch-switch')
                                                        for p in asked)
        parts.append('%s: %d packages installed (%s); modules ran with %s'
                     % (host.name, len(added), ', '.join(asked), python))
    stats = lab.proxy_stats()
    fetched = stats.get('MISS', (0, 0))
    cached = stats.get('HIT', (0, 0))
    denied = stats.get('DENY', (0, 0))[0]
    parts.append('second run: %d tasks changed' % len(again))
    parts.append('package proxy: %d files (%.1f MiB) fetched from the mirror, %d (%.1f MiB) from '
                 'the cache, %d refused' % (fetched[0], fetched[1] / 1048576.0, cached[0],
                                            cached[1] / 1048576.0, denied))
    return ('bare host \u2192 ready', ok, '; '.join(parts))


def doctor_step(lab, step):
    """The mesh doctor (playbooks/mesh_doctor.yml, read-only): clean on the lab's mesh; three
    faults made behind the playbooks' back each reported with its fix; clean after gre_mesh.yml.
    Returns report rows; the doctor's reports go to lab/out/doctor-*/."""
    def doctor(name):
        out = os.path.join(OUT_DIR, 'doctor-%s' % name)
        started = time.monotonic()
        run_playbook('mesh_doctor.yml', ['-e', 'mesh_doctor_dir=%s' % out,
                                         '-e', 'mesh_doctor_fail_on=never'])
        with open(os.path.join(out, 'report.json')) as handle:
            return json.load(handle), time.monotonic() - started

    def errors(report):
        return ', '.join('%s %s %s' % (f['host'], f['network'], f['kind'])
                         for f in report['findings'] if f['severity'] == 'error') or 'none'

    step('mesh doctor on the clean mesh (and one idempotent gre_mesh.yml run to compare)')
    started = time.monotonic()
    run_playbook('gre_mesh.yml')
    mesh_time = time.monotonic() - started
    clean, doctor_time = doctor('clean')
    kvm1, kvm2, kvm3 = lab.hosts[:3]
    faults = [(kvm1, ('--if-exists', 'del-port', 't1001-1-2'), 'tunnel-missing', 1001),
              (kvm2, ('set', 'Interface', 't1001-2-3', 'options:remote_ip=192.0.2.99'),
               'tunnel-wrong-remote-ip', 1001),
              (kvm3, ('set', 'Bridge', 'OVSTunnel1002', 'stp_enable=true'), 'stp-on', 1002)]
    step('mesh doctor: deleted tunnel on kvm1, wrong remote_ip on kvm2, STP on on kvm3')
    for host, command, _kind, _key in faults:
        host.ovs.vsctl(*command)
    broken, _t = doctor('faults')
    named = []
    for host, _command, kind, key in faults:
        fix = 'ansible-playbook cloudstack.ovs.gre_mesh --limit %s' % host.name
        if any(f['kind'] == kind and f['host'] == host.name and f['network'] == key and
               f['fix'] == fix for f in broken['findings']):
            named.append('%s %s: %s -> `%s`' % (host.name, key, kind, fix))
    step('mesh doctor after gre_mesh.yml')
    run_playbook('gre_mesh.yml')
    again, _t = doctor('repaired')
    return [('doctor: clean mesh', clean['clean'], 'errors: %s; %d warnings'
             % (errors(clean), clean['warnings'])),
            ('doctor: 3 faults reported with their fix', len(named) == 3 and
             set(f['host'] for f in broken['findings'] if f['severity'] == 'error') ==
             set(h.name for h, _c, _k, _n in faults), '; '.join(named)),
            ('doctor: clean after gre_mesh.yml', again['clean'], 'errors: %s' % errors(again)),
            ('doctor run time', True, '%.1f s (one idempotent gre_mesh.yml run: %.1f s)'
             % (doctor_time, mesh_time))]


# ---------------------------------------------------------------------------- the report

def draw_mesh(lab, tunnels, matrix, path_base, dpdk_host=None):
    """The mesh as SVG and PNG: hosts, their OVSTunnel bridges, tunnels with keys, reachability
    (the collection's one mesh drawing, module_utils/mesh_picture.py)."""
    import graphviz

    hosts = [dict(id=host.name, label='%s (host id %d, %s)%s' % (
        host.name, host.host_id, host.mgmt_ip,
        '\\nOVS-DPDK: csdpdk-1 (server), csdpdk-2 (client) on cloudbr1'
        if host is dpdk_host else ''),
        networks=[dict(key=key, label='OVSTunnel%d' % key, vm_label='VM %s' % vm_ip(key, host))
                  for key in NETWORKS]) for host in lab.hosts]
    by_ip = dict((h.mgmt_ip, h) for h in lab.hosts)
    links = []
    drawn = set()
    for host in lab.hosts:
        for tun in tunnels.get(host.name, []):
            peer = by_ip.get(tun['remote_ip'])
            if peer is None or tun['key'] is None:
                continue
            key = int(tun['key'])
            pair = (key,) + tuple(sorted((host.name, peer.name)))
            if pair in drawn:
                continue
            drawn.add(pair)
            ok = matrix.get(((key, host.name), (key, peer.name))) and \
                matrix.get(((key, peer.name), (key, host.name)))
            links.append(dict(key=key, a=host.name, b=peer.name, ok=bool(ok),
                              label='GRE key %d' % key))
    dot = graphviz.Source(mesh_dot('cloudstack.ovs lab: GRE mesh (green: VMs in the network '
                                   'reach each other)', hosts, links), format='svg')
    svg = dot.render(path_base, cleanup=True)
    dot.format = 'png'
    png = dot.render(path_base, cleanup=True)
    return svg, png


def write_report(results, path):
    lines = ['# cloudstack.ovs lab report', '',
             'Three lab hosts (network namespaces with their own OVS and sshd, reached over SSH; '
             'bare by default: their own Debian root with python3 and sshd only) prepared by '
             '`playbooks/lab.yml`.', '',
             '![GRE mesh](mesh.svg)', '', '## Summary', '',
             '| check | result | detail |', '| --- | --- | --- |']
    for name, ok, detail in results['checks']:
        lines.append('| %s | %s | %s |' % (name, 'PASS' if ok else 'FAIL', detail))
    lines += ['', '## Ping matrix', '', '| from \\ to | ' +
              ' | '.join('%s/%s' % (k, h) for k, h in results['vms']) + ' |',
              '| --- |' + ' --- |' * len(results['vms'])]
    for src in results['vms']:
        row = []
        for dst in results['vms']:
            if src == dst:
                row.append('-')
            else:
                reached = results['matrix'][(src, dst)]
                row.append(('reaches' if reached else 'blocked') +
                           ('' if reached == (src[0] == dst[0]) else ' (WRONG)'))
        lines.append('| %s/%s | %s |' % (src[0], src[1], ' | '.join(row)))
    lines += ['', '## Tunnels', '']
    for host, tunnels in sorted(results['tunnels'].items()):
        lines.append('- %s: ' % host + ', '.join('%s -> %s (key %s, ofport %s)'
                                                 % (t['name'], t['remote_ip'], t['key'], t['ofport'])
                                                 for t in tunnels))
    lines += ['', '## Repair run', '', 'Changed behind the playbooks\' back: %s.'
              % '; '.join(results['sabotage']), '', 'What the repair run changed:', '']
    lines += ['- %s: %s (%s)' % (e['host'], e['task'], '; '.join(e['actions']) or 'changed')
              for e in results['repaired']]
    lines += ['', '## Steps', ''] + ['%d. %s' % (i + 1, s) for i, s in enumerate(results['steps'])]
    lines += ['', 'Wall time: %.1f s' % results['wall'], '']
    with open(path, 'w') as handle:
        handle.write('\n'.join(lines))


def print_summary(results):
    width = max(len(c[0]) for c in results['checks'])
    print('\n' + '-' * 78)
    print('%-*s  %-6s %s' % (width, 'check', 'result', 'detail'))
    print('-' * 78)
    for name, ok, detail in results['checks']:
        print('%-*s  %-6s %s' % (width, name, 'PASS' if ok else 'FAIL', detail))
    print('-' * 78)
    print('report: %s   picture: %s' % (os.path.relpath(results['report'], ROOT),
                                        os.path.relpath(results['png'], ROOT)))
    print('wall time: %.1f s' % results['wall'])


# ---------------------------------------------------------------------------- commands

def up(args):
    if (args.hosts, args.networks) != (3, len(NETWORKS)):
        return fleet_up(args)
    started = time.monotonic()
    steps = []
    step = Step(steps)
    old = Lab.load(RUN_DIR)
    if old is not None:
        step('removing the previous lab %s' % old.prefix)
        restore_hugepages()
        old.destroy()
    os.makedirs(OUT_DIR, exist_ok=True)
    bare = not args.shared_usr
    lab = Lab(RUN_DIR, hosts=3, bare=bare)
    if bare:
        step('creating 3 bare lab hosts as %s: their own root (overlay of the Debian base in %s: '
             'python3 and sshd only; built once, then cached), namespaces, sshd; apt reaches '
             'only the mirror (%s) through the lab\'s package proxy'
             % (lab.prefix, lab.cache, ', '.join(mirror_hosts())))
    else:
        step('creating 3 lab hosts sharing the machine\'s /usr (namespaces, own /etc and /run, '
             'sshd) as %s' % lab.prefix)
    lab.create(start_ovs=False)
    dpdk_host = lab.hosts[0] if (dpdk_available(bare) and not args.no_dpdk) else None
    if dpdk_host is not None:
        save_hugepages()
    lab.write_inventory(INVENTORY, host_vars(lab, dpdk_host))
    step('inventory written to %s (hosts reached over SSH)' % os.path.relpath(INVENTORY, ROOT))
    checks = []

    step('running playbooks/lab.yml (kvm_host.yml, gre_mesh.yml%s)'
         % (', lab_dpdk.yml: OVS-DPDK on %s' % dpdk_host.name if dpdk_host else ''))
    first_started = time.monotonic()
    first = run_playbook('lab.yml')
    first_time = time.monotonic() - first_started
    checks.append(('first run', True, '%d tasks changed in %.0f s'
                   % (len(changed_events(first)), first_time)))

    if dpdk_host is not None:
        checks.append(dpdk_check(dpdk_host))

    step('plugging one "VM" per host and network into OVSTunnel1001/1002')
    vms = add_vms(lab)
    step('ping matrix: %d VM pairs' % (len(vms) * (len(vms) - 1)))
    matrix = ping_matrix(vms)
    inside = sum(1 for (a, b), r in matrix.items() if a[0] == b[0] and r)
    inside_total = sum(1 for (a, b) in matrix if a[0] == b[0])
    crossing = sum(1 for (a, b), r in matrix.items() if a[0] != b[0] and r)
    checks.append(('ping inside each network', inside == inside_total,
                   '%d/%d pairs reach' % (inside, inside_total)))
    checks.append(('isolation between networks', crossing == 0,
                   '%d of %d cross-network pairs reach' % (crossing, len(matrix) - inside_total)))

    step('capturing the underlay (lan0) while VMs ping: GRE keys')
    keys, _capture = gre_keys_on_underlay(lab, vms)
    checks.append(('GRE keys on the underlay', keys == list(NETWORKS),
                   'keys seen: %s' % ', '.join(map(str, keys))))

    step('second run: nothing may change')
    second = run_playbook('lab.yml')
    again = changed_events(second)
    checks.append(('idempotent second run', not again,
                   '%d tasks changed%s' % (len(again), (': ' + ', '.join(
                       '%s/%s' % (e['host'], e['task']) for e in again)) if again else '')))
    if lab.bare:
        checks.append(bare_ready_check(lab, again))

    victim = lab.hosts[0]
    port = 't%d-%d-%d' % (NETWORKS[0], victim.host_id, lab.hosts[1].host_id)
    sabotage = ['deleted tunnel port %s on %s' % (port, victim.name),
                'set fail_mode=secure on cloudbr1 of %s' % lab.hosts[2].name]
    step('repair: ' + '; '.join(sabotage))
    victim.ovs.vsctl('--if-exists', 'del-port', port)
    lab.hosts[2].ovs.vsctl('set', 'Bridge', 'cloudbr1', 'fail_mode=secure')
    repair = run_playbook('lab.yml')
    repaired = changed_events(repair)
    fixed = (len(repaired) == 2 and
             any(e['host'] == victim.name and any(port in a for a in e['actions'])
                 for e in repaired) and
             any(e['host'] == lab.hosts[2].name and any('fail_mode' in a for a in e['actions'])
                 for e in repaired))
    checks.append(('repair run fixes exactly the 2 changes', fixed,
                   '; '.join('%s: %s' % (e['host'], '; '.join(e['actions']) or e['task'])
                             for e in repaired)))
    matrix_after = ping_matrix(vms)
    checks.append(('ping matrix after repair', matrix_ok(matrix_after),
                   '%d/%d pairs as expected' % (sum(1 for (a, b), r in matrix_after.items()
                                                    if r == (a[0] == b[0])), len(matrix_after))))

    step("agent replay: CloudStack's agent commands for every network on every host")
    checks.append(agent_replay_check(lab, vms))
    checks.extend(doctor_step(lab, step))

    tunnels = tunnel_state(lab)
    step('drawing the mesh and writing the report to lab/out/')
    svg, png = draw_mesh(lab, tunnels, matrix_after, os.path.join(OUT_DIR, 'mesh'), dpdk_host)
    results = dict(checks=checks, vms=list(vms), matrix=matrix_after, tunnels=tunnels,
                   sabotage=sabotage, repaired=repaired, steps=steps, svg=svg, png=png,
                   report=os.path.join(OUT_DIR, 'report.md'),
                   wall=time.monotonic() - started)
    write_report(results, results['report'])
    print('\n'.join(lab.memory_report()))
    print_summary(results)
    if not all(ok for _n, ok, _d in checks):
        print('lab: some checks FAILED (the lab stays up for a look; make lab-down removes it)')
        return 1
    print('lab: all checks passed; the hosts stay up (ansible -i lab/inventory.yml kvm_hosts '
          '-m ping); make lab-down removes them')
    return 0


# ---------------------------------------------------------------------------- a fleet

FLEET_SAMPLE = 4       # hosts per network whose "VMs" ping each other
FLEET_MAX_NETWORKS = 57  # FLEET_SAMPLE VMs per network in one /24


def fleet_sample(lab):
    """First, last and evenly spread hosts: FLEET_SAMPLE of them (or all, if fewer)."""
    count = len(lab.hosts)
    if count <= FLEET_SAMPLE:
        return list(lab.hosts)
    picks = sorted(set(round(i * (count - 1) / (FLEET_SAMPLE - 1)) for i in range(FLEET_SAMPLE)))
    return [lab.hosts[i] for i in picks]


def fleet_up(args):
    """``make lab HOSTS=N NETWORKS=K``: N mesh-only hosts, K networks, gre_mesh.yml, the proof."""
    started = time.monotonic()
    step = Step([])
    if not 1 <= args.networks <= FLEET_MAX_NETWORKS:
        print('lab: NETWORKS=%d: 1 to %d networks' % (args.networks, FLEET_MAX_NETWORKS))
        return 2
    try:
        needed = check_capacity(args.hosts, start_ovs=True)
    except TestbedError as exc:
        print('lab: refused: %s' % exc)
        return 2
    old = Lab.load(RUN_DIR)
    if old is not None:
        step('removing the previous lab %s' % old.prefix)
        restore_hugepages()
        old.destroy()
    keys = list(range(1001, 1001 + args.networks))
    lab = Lab(RUN_DIR, hosts=args.hosts)
    step('creating %d mesh-only lab hosts sharing the machine\'s /usr, for memory (namespaces, own '
         '/etc and /run, sshd, OVS) as %s; '
         'estimated %d MiB' % (args.hosts, lab.prefix, needed))
    lab.create(start_ovs=True, other_config=FLEET_OVS_CONFIG)
    lab.write_inventory(INVENTORY, dict(
        (h.name, dict(cloudstack_gre_networks=keys, cloudstack_gre_datapath_type='netdev'))
        for h in lab.hosts))
    forks = str(min(args.hosts, 32))
    checks = []
    step('running playbooks/gre_mesh.yml: %d networks, %d tunnels per host (forks %s)'
         % (len(keys), len(keys) * (args.hosts - 1), forks))
    os.environ['ANSIBLE_FORKS'] = forks
    first = run_playbook('gre_mesh.yml')
    done = [e for e in first if e['task'].startswith('Converge') and e['status'] == 'ok']
    checks.append(('first run', len(done) == args.hosts,
                   '%d of %d hosts converged' % (len(done), args.hosts)))
    step('second run: nothing may change')
    again = changed_events(run_playbook('gre_mesh.yml'))
    checks.append(('idempotent second run', not again, '%d hosts changed' % len(again)))
    want = len(keys) * (args.hosts - 1)
    wrong = [h.name for h in lab.hosts
             if sum(len(h.ovs.vsctl('list-ports', 'OVSTunnel%d' % k).split()) for k in keys)
             != want]
    checks.append(('tunnel ports on every host', not wrong, '%d per host%s' % (
        want, ('; wrong on ' + ', '.join(wrong)) if wrong else '')))

    sample = fleet_sample(lab)
    step('underlay onto cloudbr0 on %s; one "VM" per sampled host and network'
         % ', '.join(h.name for h in sample))
    vms = collections.OrderedDict()
    for host in sample:
        host.uplink_to_bridge('cloudbr0', 'eth0')
    for i, key in enumerate(keys):
        for j, host in enumerate(sample):
            vms[(key, host.name)] = host.add_vm('OVSTunnel%d' % key, 'n%d' % key, '%s/24' % (
                VM_SUBNET % (10 + i * FLEET_SAMPLE + j)))
    inside = [(a, b) for a in vms for b in vms if a != b and a[0] == b[0]]
    # isolation: each VM against the VM of the next network on the next sampled host
    cross = []
    for (key, name) in vms:
        other_key = keys[(keys.index(key) + 1) % len(keys)]
        names = [h.name for h in sample]
        other = (other_key, names[(names.index(name) + 1) % len(names)])
        if other_key != key and other in vms:
            cross.append(((key, name), other))
    step('pinging %d pairs inside networks and %d across networks' % (len(inside), len(cross)))
    with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
        futures = dict((pool.submit(vms[a].ping, vms[b].ip, 2, 4), (a, b))
                       for a, b in inside + cross)
        matrix = dict((futures[f], f.result()) for f in concurrent.futures.as_completed(futures))
    reached = sum(1 for p in inside if matrix[p])
    crossed = sum(1 for p in cross if matrix[p])
    checks.append(('ping inside each network (sample)', reached == len(inside),
                   '%d/%d pairs reach' % (reached, len(inside))))
    checks.append(('isolation between networks (sample)', crossed == 0,
                   '%d of %d cross-network pairs reach' % (crossed, len(cross))))
    print('\n'.join(lab.memory_report()))
    width = max(len(c[0]) for c in checks)
    for name, ok, detail in checks:
        print('%-*s  %-6s %s' % (width, name, 'PASS' if ok else 'FAIL', detail))
    print('wall time: %.1f s' % (time.monotonic() - started))
    if not all(ok for _n, ok, _d in checks):
        print('lab: some checks FAILED (the lab stays up for a look; make lab-down removes it)')
        return 1
    print('lab: all checks passed; %d hosts stay up (lab/inventory.yml); make lab-down removes '
          'them' % args.hosts)
    return 0


def down(_args):
    lab = Lab.load(RUN_DIR)
    if lab is None:
        print('lab: nothing to remove')
        return 0
    restore_hugepages()
    lab.destroy()
    for path in (INVENTORY,):
        if os.path.exists(path):
            os.unlink(path)
    print('lab: removed %s (processes, namespaces, %s)'
          % (lab.prefix, os.path.relpath(RUN_DIR, ROOT)))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    sub = parser.add_subparsers(dest='command', required=True)
    p_up = sub.add_parser('up', help='create the lab and prove the setup')
    p_up.add_argument('--no-dpdk', action='store_true', help='leave OVS-DPDK out')
    p_up.add_argument('--shared-usr', action='store_true',
                      help='hosts share the machine\'s /usr instead of a bare root of their own')
    p_up.add_argument('--hosts', type=int, default=3,
                      help='lab hosts (default 3: the full story; more: a mesh-only fleet)')
    p_up.add_argument('--networks', type=int, default=len(NETWORKS),
                      help='GRE networks per host (default %d)' % len(NETWORKS))
    sub.add_parser('down', help='remove everything the lab created')
    args = parser.parse_args()
    if os.geteuid() != 0:
        parser.error('the lab needs root (network namespaces, Open vSwitch)')
    return {'up': up, 'down': down}[args.command](args)


if __name__ == '__main__':
    sys.exit(main())
