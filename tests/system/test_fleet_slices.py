# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""gre_mesh.yml is slice-safe. Three slices of a six-host lab, run at the same time, leave every
host exactly as one run over all six does: the same bridges, ports, interface options, ownership
markers (external_ids) and flows. Slices are made two ways: ``--limit`` of the whole inventory,
and as AWX job slicing makes them, an inventory holding only the slice's hosts, where the mesh
comes from ``cloudstack_gre_mesh_hosts`` (without it, a slice would cut the tunnels to the other
slices: shown in check mode). The hosts carry different sets of networks, so a host's peers
differ per network.

Also: the testbed refuses a lab that does not fit the machine before starting anything.
"""

import json
import os
import subprocess

import pytest
import yaml

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


def host_vars(lab):
    return dict((h.name, dict(cloudstack_gre_networks=NETWORKS[h.name],
                              cloudstack_gre_datapath_type='netdev')) for h in lab.hosts)


@pytest.fixture(scope='module')
def fleet(tmp_path_factory):
    lab = Lab(str(tmp_path_factory.mktemp('fleet')), hosts=6).create(start_ovs=True)
    try:
        inventory = lab.write_inventory(str(tmp_path_factory.mktemp('fleet-inv') / 'inventory.yml'),
                                        host_vars(lab))
        yield lab, inventory
    finally:
        lab.destroy()


@pytest.fixture(scope='module')
def single(fleet):
    """The end state of one run over the whole fleet."""
    lab, inventory = fleet
    one = ansible('ansible-playbook', '-i', inventory, 'playbooks/gre_mesh.yml')
    assert one.returncode == 0, one.stdout[-3000:] + one.stderr[-3000:]
    assert all(r['changed'] == 1 for r in recap(one.stdout).values()), one.stdout[-3000:]
    state = fleet_state(lab)
    # the mesh as the inventory wants it: per host, one bridge per network, one port per peer
    for name, keys in NETWORKS.items():
        index = int(name[3:])
        for key in keys:
            peers = sorted(int(p[3:]) for p, k in NETWORKS.items() if key in k and p != name)
            assert state[name]['ports']['OVSTunnel%d' % key] == sorted(
                't%d-%d-%d' % (key, index, p) for p in peers)
        assert sorted(state[name]['ports']) == sorted('OVSTunnel%d' % k for k in keys)
    return state


def pared_down(lab, hosts, path):
    """The inventory AWX gives a job slice: only the slice's hosts (group variables kept)."""
    inventory = lab.inventory(host_vars(lab))
    group = inventory['all']['children']['kvm_hosts']
    group['hosts'] = dict((n, v) for n, v in group['hosts'].items() if n in hosts)
    with open(path, 'w') as handle:
        yaml.safe_dump(inventory, handle)
    return path


def mesh_hosts(lab):
    """cloudstack_gre_mesh_hosts: the whole mesh in one variable."""
    return dict((h.name, dict(cloudstack_host_id=h.host_id, cloudstack_underlay_ip=h.mgmt_ip,
                              cloudstack_gre_networks=NETWORKS[h.name])) for h in lab.hosts)


def run_side_by_side(commands):
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env=ansible_env(), cwd=ROOT) for cmd in commands]
    return [(proc, proc.communicate(timeout=900)[0]) for proc in procs]


def check_slices_equal_one_run(lab, inventory, single, results):
    for limit, (proc, out) in zip(SLICES, results):
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
    cmd = [os.path.join(os.path.dirname(PYTHON), 'ansible-playbook'), '-i', inventory,
           'playbooks/gre_mesh.yml']
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


def test_three_limit_slices_side_by_side_give_the_end_state_of_one_run(fleet, single):
    """Slices as --limit of the whole inventory (ansible-playbook by hand, or a launch limit)."""
    lab, inventory = fleet
    reset(lab)
    results = run_side_by_side([playbook_cmd(inventory, limit) for limit in SLICES])
    check_slices_equal_one_run(lab, inventory, single, results)


def test_three_awx_slices_with_the_mesh_variable_give_the_end_state_of_one_run(
        fleet, single, tmp_path):
    """Slices as AWX runs them: each with an inventory of its own hosts only; the whole mesh
    comes from cloudstack_gre_mesh_hosts (an extra variable of the job template)."""
    lab, inventory = fleet
    extra = tmp_path / 'mesh.json'
    extra.write_text(json.dumps(dict(cloudstack_gre_mesh_hosts=mesh_hosts(lab))))
    slices = [pared_down(lab, limit, str(tmp_path / ('slice%d.yml' % i)))
              for i, limit in enumerate(SLICES)]

    # Without the variable a pared-down slice sees only its own hosts as peers: gre_network
    # would cut the tunnels to every other slice (shown in check mode: nothing is changed).
    cut = ansible('ansible-playbook', '-i', slices[0], 'playbooks/gre_mesh.yml', '--check')
    assert cut.returncode == 0, cut.stdout[-3000:]
    assert all(r['changed'] == 1 for r in recap(cut.stdout).values()), cut.stdout[-3000:]
    assert fleet_state(lab) == single

    reset(lab)
    results = run_side_by_side([playbook_cmd(path) + ['-e', '@%s' % extra] for path in slices])
    check_slices_equal_one_run(lab, inventory, single, results)
