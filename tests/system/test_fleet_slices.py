# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""gre_mesh.yml is slice-safe: AWX job slicing runs the playbook as N jobs side by side, each
with a ``--limit`` of the inventory. Three slices of a six-host lab, run at the same time, must
leave every host exactly as one run over all six does: the same bridges, ports, interface
options, ownership markers (external_ids) and flows. The hosts carry different sets of networks,
so a host's peers differ per network and come from the whole group, not from its slice.

Also: the testbed refuses a lab that does not fit the machine before starting anything.
"""

import json
import subprocess

import pytest

from conftest import PYTHON, ROOT, ansible, ansible_env, recap
from testbed import Lab
from testbed.lab import check_capacity
from testbed.proc import TestbedError as LabError

# Which networks each host carries: not a full mesh, so peers differ per host and network.
NETWORKS = {
    'kvm1': [1001, 1002, 1003],
    'kvm2': [1001],
    'kvm3': [1002, 1003],
    'kvm4': [1001, 1003],
    'kvm5': [1002],
    'kvm6': [1001, 1002],
}
# AWX slices a job template's inventory by host position: slice i of n gets hosts i, i+n, ...
SLICES = [['kvm1', 'kvm4'], ['kvm2', 'kvm5'], ['kvm3', 'kvm6']]
COLUMNS = (
    ('Bridge', 'name,datapath_type,fail_mode,protocols,other_config,external_ids'),
    ('Port', 'name,tag,other_config,external_ids'),
    ('Interface', 'name,type,options,external_ids'),
)


@pytest.fixture(scope='module')
def fleet(tmp_path_factory):
    lab = Lab(str(tmp_path_factory.mktemp('fleet')), hosts=6).create(start_ovs=True)
    try:
        inventory = lab.write_inventory(
            str(tmp_path_factory.mktemp('fleet-inv') / 'inventory.yml'), PYTHON,
            dict((h.name, dict(cloudstack_gre_networks=NETWORKS[h.name],
                               cloudstack_gre_datapath_type='netdev')) for h in lab.hosts))
        yield lab, inventory
    finally:
        lab.destroy()


def _canon(value):
    """ovs-vsctl JSON cell -> a comparable Python value (maps and sets sorted, uuids dropped)."""
    if isinstance(value, list) and len(value) == 2 and value[0] in ('map', 'set', 'uuid'):
        kind, inner = value
        if kind == 'map':
            return sorted((k, _canon(v)) for k, v in inner)
        if kind == 'set':
            return sorted(json.dumps(_canon(v)) for v in inner)
        return 'uuid'
    return value


def host_state(host):
    """Everything gre_network owns on a host, without what ovs-vswitchd assigns (uuids, ofports:
    flows name their ports instead)."""
    state = {}
    for table, columns in COLUMNS:
        data = json.loads(host.ovs.vsctl('--format=json', '--columns=' + columns, 'list', table))
        rows = [dict(zip(data['headings'], (_canon(c) for c in row))) for row in data['data']]
        state[table] = sorted(rows, key=lambda r: r['name'])
    bridges = sorted(host.ovs.vsctl('list-br').split())
    state['ports'] = dict((b, sorted(host.ovs.vsctl('list-ports', b).split())) for b in bridges)
    # flows with port names: ovs-vswitchd may number the same ports differently in each run
    state['flows'] = dict((b, sorted(
        line.strip() for line in host.ovs.ofctl('--names', 'dump-flows', '--no-stats', b)
        .splitlines() if line.strip() and 'ST_FLOW' not in line)) for b in bridges)
    assert all(len(flows) == 2 * len(state['ports'][b]) + 1 for b, flows in state['flows'].items())
    return state


def fleet_state(lab):
    return dict((h.name, host_state(h)) for h in lab.hosts)


def reset(lab):
    """Back to hosts without any GRE network (what the playbook creates are the OVSTunnel
    bridges, their ports and flows)."""
    for host in lab.hosts:
        for bridge in host.ovs.vsctl('list-br').split():
            host.ovs.vsctl('--if-exists', 'del-br', bridge)
        assert host.ovs.vsctl('list-br').split() == []


def differences(one, other):
    """What differs between two host states, item by item (for the failure message)."""
    out = []
    for part in sorted(set(one) | set(other)):
        a, b = one.get(part), other.get(part)
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b)):
                if a.get(key) != b.get(key):
                    out.append('%s %s: one run only %s; slices only %s' % (
                        part, key, [x for x in a.get(key) or [] if x not in (b.get(key) or [])],
                        [x for x in b.get(key) or [] if x not in (a.get(key) or [])]))
        elif a != b:
            out.append('%s: one run only %s; slices only %s' % (
                part, [x for x in a or [] if x not in (b or [])],
                [x for x in b or [] if x not in (a or [])]))
    return '\n'.join(out)


def playbook_cmd(inventory, limit=None):
    cmd = [PYTHON.rsplit('/', 1)[0] + '/ansible-playbook', '-i', inventory, 'playbooks/gre_mesh.yml']
    return cmd + (['--limit', ','.join(limit)] if limit else [])


def test_a_size_that_does_not_fit_is_refused_before_anything_starts():
    with pytest.raises(LabError) as err:
        check_capacity(64, start_ovs=True, available_mib=1500)
    assert 'hosts=64 does not fit' in str(err.value)
    assert 'MemAvailable is 1500 MiB' in str(err.value)
    assert 'nothing was started' in str(err.value)
    with pytest.raises(LabError) as err:
        check_capacity(245, start_ovs=True, available_mib=10 ** 7)
    assert 'a lab has 1 to 244 hosts' in str(err.value)
    assert check_capacity(6, start_ovs=True, available_mib=10 ** 7) > 0


def test_three_slices_side_by_side_give_the_end_state_of_one_run(fleet):
    lab, inventory = fleet
    one = ansible('ansible-playbook', '-i', inventory, 'playbooks/gre_mesh.yml')
    assert one.returncode == 0, one.stdout[-3000:] + one.stderr[-3000:]
    assert all(r['changed'] == 1 for r in recap(one.stdout).values()), one.stdout[-3000:]
    single = fleet_state(lab)
    # the mesh as the inventory wants it: per host, one bridge per network, one port per peer
    for name, keys in NETWORKS.items():
        index = int(name[3:])
        for key in keys:
            peers = sorted(int(p[3:]) for p, k in NETWORKS.items() if key in k and p != name)
            assert single[name]['ports']['OVSTunnel%d' % key] == sorted(
                't%d-%d-%d' % (key, index, p) for p in peers)
        assert sorted(single[name]['ports']) == sorted('OVSTunnel%d' % k for k in keys)

    reset(lab)
    procs = [subprocess.Popen(playbook_cmd(inventory, limit), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, env=ansible_env(), cwd=ROOT)
             for limit in SLICES]
    outs = [proc.communicate(timeout=900)[0] for proc in procs]
    for limit, proc, out in zip(SLICES, procs, outs):
        assert proc.returncode == 0, out[-3000:]
        assert sorted(recap(out)) == limit
        assert all(r['changed'] == 1 for r in recap(out).values()), out[-3000:]
    sliced = fleet_state(lab)
    for host in lab.hosts:
        assert sliced[host.name] == single[host.name], differences(single[host.name],
                                                                   sliced[host.name])

    # and one run over the whole fleet after the slices finds nothing to do
    again = ansible('ansible-playbook', '-i', inventory, 'playbooks/gre_mesh.yml')
    assert again.returncode == 0, again.stdout[-3000:]
    assert all(r['changed'] == 0 for r in recap(again.stdout).values()), again.stdout[-3000:]
