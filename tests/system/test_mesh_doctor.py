# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The mesh doctor (playbooks/mesh_doctor.yml) on three lab hosts over SSH.

The mesh is built by ``gre_mesh.yml``; then each fault is made behind the playbooks' back with
``ovs-vsctl``/``ovs-ofctl`` on one host, the doctor must name it (kind, host, network) with the
fix, the fix it gives is run as given, and the doctor is clean again. Every doctor run is
checked to write nothing: each host's whole OVSDB (``ovsdb-client dump``, without the counters
ovs-vswitchd keeps updating) and every bridge's flows are the same before and after.
"""

import json
import os
import re
import shlex

import pytest

from conftest import ansible


from ansible_collections.cloudstack.ovs.plugins.module_utils.cloudstack_agent import (
    agent_considers_configured,
)
from testbed.agent import AgentReplay

KEYS = (1001, 1002)
VM_NET = {1001: '203.0.113.1%d', 1002: '203.0.113.2%d'}
GRE_MESH = 'ansible-playbook cloudstack.ovs.gre_mesh --limit '
# Columns ovs-vswitchd rewrites on its own (counters, STP/RSTP and link status).
VOLATILE = ('statistics', 'rstp_statistics', 'status', 'rstp_status')


def db_dump(host):
    """The host's whole database, rows sorted, volatile columns left out."""
    out = host.ovs.run('ovsdb-client', '--format=json', 'dump', host.ovs.inside_db).stdout
    tables = {}
    for line in out.splitlines():
        table = json.loads(line)
        keep = [i for i, h in enumerate(table['headings']) if h not in VOLATILE]
        rows = sorted(json.dumps([row[i] for i in keep]) for row in table['data'])
        tables[table['caption']] = ([table['headings'][i] for i in keep], rows)
    return tables


def flows(host):
    bridges = host.ovs.vsctl('list-br').split()
    return dict((b, sorted(host.ovs.ofctl('--no-stats', 'dump-flows', b).splitlines()[1:]))
                for b in bridges)


def host_state(lab):
    return dict((h.name, (db_dump(h), flows(h))) for h in lab.hosts)


def agent_warnings(lab):
    """(host, key) whose bridge CloudStack's agent reads as not set up, read with ovs-vsctl."""
    out = set()
    for host in lab.hosts:
        for key in KEYS:
            value = host.ovs.get('Bridge', 'OVSTunnel%d' % key, 'other_config:ovs-host-setup')
            stored = json.loads(value) if value.startswith('"') else (value or None)
            if not agent_considers_configured(stored, host.host_id):
                out.add((host.name, key))
    return out


@pytest.fixture(scope='module')
def doctor(lab, tmp_path_factory):
    """The mesh from gre_mesh.yml, the underlay on cloudbr0, a VM per host and network."""
    work = tmp_path_factory.mktemp('doctor')
    inventory = lab.write_mesh_inventory(str(work / 'inventory.yml'), KEYS)
    built = ansible('ansible-playbook', '-i', inventory, 'playbooks/gre_mesh.yml')
    assert built.returncode == 0, built.stdout + built.stderr
    # The tunnel endpoint on an OVS bridge, as the cloudbr role leaves it.
    vms = lab.add_mesh_vms(VM_NET)
    # VMs that talked: the bridges learned remote MACs on their tunnels (unicast traces).
    for key in KEYS:
        for host in lab.hosts[1:]:
            assert vms[1, key].ping(vms[host.index, key].ip)

    def run(fail_on=None):
        out = work / 'report'
        extra = ['-e', 'mesh_doctor_dir=%s' % out]
        if fail_on:
            extra += ['-e', 'mesh_doctor_fail_on=%s' % fail_on]
        before = host_state(lab)
        proc = ansible('ansible-playbook', '-i', inventory, 'playbooks/mesh_doctor.yml', *extra)
        assert host_state(lab) == before, 'the doctor changed a host'
        assert os.path.exists(str(out / 'report.json')), proc.stdout + proc.stderr
        with open(str(out / 'report.json')) as handle:
            report = json.load(handle)
        with open(str(out / 'report.md')) as handle:
            report['_markdown'] = handle.read()
        report['_rc'] = proc.returncode
        report['_output'] = proc.stdout + proc.stderr
        report['_dir'] = str(out)
        return report

    def repair(fix):
        """Run the fix the doctor gave, as given."""
        if fix.startswith(GRE_MESH):
            proc = ansible('ansible-playbook', '-i', inventory, 'playbooks/gre_mesh.yml',
                           '--limit', fix[len(GRE_MESH):])
            assert proc.returncode == 0, proc.stdout + proc.stderr
            return
        where, _sep, command = fix.partition(': ')
        assert where.startswith('on ') and command, fix
        host = next(h for h in lab.hosts if h.name == where[3:])
        argv = shlex.split(command)
        if argv[0] == 'ovs-vsctl':
            host.ovs.vsctl(*argv[1:])
        else:
            host.ovs.run(*argv)

    return dict(run=run, repair=repair, vms=vms, inventory=inventory)


def errors(report):
    return [f for f in report['findings'] if f['severity'] == 'error']


def assert_clean(lab, report):
    assert report['_rc'] == 0, report['_output']
    assert report['clean'] and errors(report) == [], report['findings']
    # The only warnings a fresh mesh may have: bridges the agent reads as not set up.
    warned = set((f['host'], f['network']) for f in report['findings'])
    assert all(f['kind'] == 'agent-not-configured' for f in report['findings'])
    assert warned == agent_warnings(lab)
    for key in KEYS:
        pairs = report['networks'][str(key)]['pairs']
        assert len(pairs) == 3 and all(p['ok'] for p in pairs), pairs
    assert 'CLEAN' in report['_markdown']


def test_clean_mesh_gives_a_clean_report_and_writes_nothing(lab, doctor):
    report = doctor['run']()
    assert_clean(lab, report)
    assert '| kvm1 | - | ok | ok |' in report['_markdown']
    with open(os.path.join(report['_dir'], 'mesh.svg')) as handle:
        svg = handle.read()
    assert svg.count('#2ca02c') == 6 and '#d62728' not in svg  # 3 pairs x 2 networks, all green
    # The traces behind it: a broadcast from kvm1 leaves once per peer, none from a tunnel into
    # another, and unicast to the learned remote VMs leaves on their tunnel.
    proc = ansible('ansible', '-i', doctor['inventory'], 'kvm1', '-m',
                   'cloudstack.ovs.gre_mesh_info', '-a', 'host_id=1', '-o')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    info = json.loads(proc.stdout.split('=>', 1)[1])
    trace = info['bridges']['OVSTunnel1001']['trace']
    assert sorted(t['remote_ip'] for t in trace['broadcast']['tunnels']) == \
        [lab.hosts[1].mgmt_ip, lab.hosts[2].mgmt_ip]
    assert [e['tunnels'] for e in trace['from_tunnels']] == [[], []]
    assert len(trace['unicast']) == 2
    assert all(len(e['tunnels']) == 1 for e in trace['unicast'])


# name, what to do on which host, the finding that must name it, the fix it must give
FAULTS = [
    ('deleted tunnel', 0, ['ovs-vsctl', 'del-port', 't1001-1-2'],
     'tunnel-missing', 1001, GRE_MESH + 'kvm1'),
    ('wrong remote_ip', 1, ['ovs-vsctl', 'set', 'Interface', 't1001-2-3',
                            'options:remote_ip=192.0.2.99'],
     'tunnel-wrong-remote-ip', 1001, GRE_MESH + 'kvm2'),
    ('STP on', 2, ['ovs-vsctl', 'set', 'Bridge', 'OVSTunnel1002', 'stp_enable=true'],
     'stp-on', 1002, GRE_MESH + 'kvm3'),
    ('fail_mode secure', 0, ['ovs-vsctl', 'set', 'Bridge', 'OVSTunnel1002', 'fail_mode=secure'],
     'fail-mode-secure', 1002, 'on kvm1: ovs-vsctl del-fail-mode OVSTunnel1002'),
    ('flows deleted', 1, ['ovs-ofctl', 'del-flows', 'OVSTunnel1001'],
     'flows-missing', 1001, GRE_MESH + 'kvm2'),
    ('tunnel not protected', 2, ['ovs-vsctl', 'set', 'Port', 't1001-3-1', 'protected=false'],
     'tunnel-not-protected', 1001, GRE_MESH + 'kvm3'),
    ('missing network', 2, ['ovs-vsctl', 'del-br', 'OVSTunnel1002'],
     'bridge-missing', 1002, GRE_MESH + 'kvm3'),
]


@pytest.mark.parametrize('name, index, command, kind, key, fix', FAULTS,
                         ids=[f[0] for f in FAULTS])
def test_fault_is_found_named_fixed_and_gone(lab, doctor, name, index, command, kind, key, fix):
    host = lab.hosts[index]
    if command[0] == 'ovs-vsctl':
        host.ovs.vsctl(*command[1:])
    else:
        host.ovs.run(*command)
    report = doctor['run']()
    assert report['_rc'] != 0, 'the doctor must fail the run on %s' % name
    hits = [f for f in errors(report) if f['kind'] == kind and f['host'] == host.name and
            f['network'] == key]
    assert hits, (name, report['findings'])
    assert all(f['fix'] == fix for f in hits), hits
    assert '`%s`' % kind in report['_markdown'] and 'BROKEN' in report['_markdown']
    # every error is on the host where the fault was made
    assert set(f['host'] for f in errors(report)) == {host.name}, errors(report)
    broken = [p for p in report['networks'][str(key)]['pairs'] if not p['ok']]
    assert broken and all(host.name in (p['a'], p['b']) for p in broken), broken
    with open(os.path.join(report['_dir'], 'mesh.svg')) as handle:
        assert '#d62728' in handle.read()
    # the other network of the zone is untouched by a fault in this one
    other = [k for k in KEYS if k != key][0]
    assert all(p['ok'] for p in report['networks'][str(other)]['pairs'])

    # The operator's walk through the report: every fix it gives, commands on a host first
    # (fail_mode=secure also flushed the flows: flows-missing comes with it), then playbooks.
    for each in sorted(set(f['fix'] for f in errors(report)), key=lambda x: x.startswith(GRE_MESH)):
        doctor['repair'](each)
    if name == 'missing network':
        # the VM of that network was unplugged with its bridge; plug it in again
        host.ovs.vsctl('--may-exist', 'add-port', 'OVSTunnel1002',
                       doctor['vms'][host.index, 1002].port)
    assert_clean(lab, doctor['run']())


def test_agent_view_is_reported(lab, doctor):
    kvm2 = lab.hosts[1]
    kvm2.ovs.vsctl('set', 'Bridge', 'OVSTunnel1001', 'other_config:ovs-host-setup=-1')
    report = doctor['run']()
    assert report['_rc'] == 0 and report['clean'], report['findings']  # a warning only
    hits = [f for f in report['findings'] if f['kind'] == 'agent-not-configured' and
            f['host'] == 'kvm2' and f['network'] == 1001]
    assert len(hits) == 1 and hits[0]['fix'] == GRE_MESH + 'kvm2', report['findings']
    strict = doctor['run'](fail_on='warning')
    assert strict['_rc'] != 0
    doctor['repair'](hits[0]['fix'])
    assert_clean(lab, doctor['run']())


def test_agent_tunnel_to_a_host_outside_the_inventory_is_reported(lab, doctor):
    """Issue 22 E: the tunnel purge ours protects - CloudStack's agent's t1001-2-9 to host 9,
    which the inventory does not have - crashed the doctor before any report was written."""
    kvm2 = lab.hosts[1]
    agent = AgentReplay(kvm2)
    assert agent.ovs_create_tunnel_command(1001, 9, '192.0.2.99')['port_added']
    try:
        report = doctor['run']()
        hits = [f for f in report['findings'] if f['kind'] == 'tunnel-unknown-host']
        assert [(f['host'], f['network'], f['port'], f['severity']) for f in hits] == \
            [('kvm2', 1001, 't1001-2-9', 'warning')], report['findings']
        assert "tunnel t1001-2-9 to host 9 (192.0.2.99), not in the inventory: CloudStack's " \
            'agent made it, or a host was removed' in report['_markdown']
        # The agent made it unprotected: a broadcast from a tunnel goes out on it. Those are
        # errors of kvm2 that gre_mesh.yml repairs (it protects a tunnel it leaves alone).
        assert set((f['host'], f['kind']) for f in errors(report)) <= {
            ('kvm2', 'tunnel-not-protected'), ('kvm2', 'trace-tunnel-to-tunnel')}, \
            report['findings']
        for fix in set(f['fix'] for f in errors(report)):
            doctor['repair'](fix)
        report = doctor['run']()
        # now a warning only: it breaks no pair of the inventory, the run passes
        assert report['_rc'] == 0 and report['clean'], report['findings']
        assert [f['port'] for f in report['findings'] if f['kind'] == 'tunnel-unknown-host'] \
            == ['t1001-2-9'], report['findings']
        assert all(p['ok'] for key in KEYS for p in report['networks'][str(key)]['pairs'])
    finally:
        kvm2.ovs.vsctl('--if-exists', 'del-port', 't1001-2-9')
    assert_clean(lab, doctor['run']())


def _inventory_with(path, inventory, host, **variables):
    """A copy of ``inventory`` in its own directory, ``variables`` set for ``host`` (host_vars
    win over the inventory's host variables; None leaves the variable out)."""
    os.makedirs(os.path.join(path, 'host_vars'))
    target = os.path.join(path, 'inventory.yml')
    with open(inventory) as src, open(target, 'w') as dst:
        dst.write(src.read())
    import yaml
    with open(os.path.join(path, 'host_vars', host + '.yml'), 'w') as handle:
        yaml.safe_dump(variables, handle)
    return target


def test_bad_inventory_entries_are_reported_and_the_report_written(lab, doctor, tmp_path):
    """Issue 22 F: map('int') made "1001" into 0 ("must be between 1 and 4294967295 (got 0)"),
    and a missing variable failed without naming the host; no report was written."""
    inventory = _inventory_with(str(tmp_path / 'inv'), doctor['inventory'], 'kvm2',
                                cloudstack_gre_networks='1001', cloudstack_host_id=2.7)
    out = tmp_path / 'report'
    before = host_state(lab)
    proc = ansible('ansible-playbook', '-i', inventory, 'playbooks/mesh_doctor.yml',
                   '-e', 'mesh_doctor_dir=%s' % out)
    assert host_state(lab) == before, 'the doctor changed a host'
    assert proc.returncode != 0
    with open(str(out / 'report.json')) as handle:
        report = json.load(handle)
    bad = [f for f in report['findings'] if f['kind'] == 'inventory-invalid']
    assert [f['host'] for f in bad] == ['kvm2'], report['findings']
    assert bad[0]['what'].startswith('cloudstack_gre_networks of kvm2: must be a list of GRE '
                                     "keys (got '1001')")
    assert report['unchecked'][0]['name'] == 'kvm2'
    # kvm1 and kvm3 are still checked, between themselves, and clean
    assert errors(report) == bad, report['findings']
    for key in KEYS:
        assert [(p['a'], p['b'], p['ok']) for p in report['networks'][str(key)]['pairs']] == \
            [('kvm1', 'kvm3', True)]
    with open(str(out / 'report.md')) as handle:
        assert 'Not checked, their inventory entry is wrong' in handle.read()
    # gre_mesh.yml refuses the same inventory on every host, kvm1 and kvm3 included
    built = ansible('ansible-playbook', '-i', inventory, 'playbooks/gre_mesh.yml')
    assert built.returncode != 0
    assert 'cloudstack_gre_networks of kvm2: must be a list of GRE keys' in built.stdout
    for name in ('kvm1', 'kvm2', 'kvm3'):
        assert 'fatal: [%s]' % name in built.stdout, built.stdout
        assert re.search(r'%s\s+: ok=\d+\s+changed=0 .*failed=1' % name, built.stdout), \
            built.stdout
    assert host_state(lab) == before
