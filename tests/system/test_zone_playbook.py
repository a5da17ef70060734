# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""playbooks/zone.yml against the fake management server (tests/system/fake_cloudstack.py):
syntax check, check mode (reads only), a converging run whose API requests carry exactly the
OVS plugin guide's tables, and a second run with no change and no write.

The ngine_io.cloudstack modules come from PyPI's ``ansible`` package, extracted for the tests
only (.ci/ngine-io-collection); they need the ``cs`` library (tests/requirements.txt). This is
not a test against a live CloudStack: the fake answers in the API reference's shapes, and what
it accepts is what these tests assume CloudStack accepts."""

import json
import os
import subprocess
import sys
from urllib.parse import unquote

import pytest
import yaml


from conftest import COLLECTIONS, ROOT, ansible
from fake_cloudstack import API_KEY, API_SECRET

PLAYBOOK = 'playbooks/zone.yml'

# CloudStack's OVS plugin guide, "Network Offerings": the two tables, service -> provider.
GUIDE_VR_SERVICES = {
    'Vpn': 'VirtualRouter', 'Dhcp': 'VirtualRouter', 'Dns': 'VirtualRouter',
    'Firewall': 'VirtualRouter', 'Lb': 'Ovs', 'UserData': 'VirtualRouter',
    'SourceNat': 'VirtualRouter', 'StaticNat': 'Ovs', 'PortForwarding': 'Ovs',
    'Connectivity': 'Ovs'}
GUIDE_OVS_SERVICES = {
    'Dhcp': 'VirtualRouter', 'Dns': 'VirtualRouter', 'UserData': 'VirtualRouter',
    'SourceNat': 'VirtualRouter', 'StaticNat': 'Ovs', 'PortForwarding': 'Ovs', 'Lb': 'Ovs',
    'Connectivity': 'Ovs'}


# ngine_io.cloudstack as users get it: the `ansible` package version that bundles it -> the
# collection's version. 12.3.0 is the newest `ansible` for ansible-core 2.19 (Python 3.11
# controllers), 14.5.0 the newest on PyPI, whose 3.3.0 is the newest 3.x a package registry has
# (Galaxy is out of reach here). requirements.yml's range must hold both.
NGINE_IO = {'12.3.0': '2.5.0', '14.5.0': '3.3.0'}


def ngine_io_path(ansible_version):
    proc = subprocess.run(['bash', os.path.join(ROOT, '.ci', 'ngine-io-collection'),
                           sys.executable, ansible_version], capture_output=True, text=True,
                          timeout=600, check=False)
    if proc.returncode != 0:
        pytest.fail('could not provide ngine_io.cloudstack for the test: %s' % proc.stderr)
    return proc.stdout.strip()


@pytest.fixture(scope='module', params=sorted(NGINE_IO), ids=lambda v: 'ngine_io-' + NGINE_IO[v])
def collections_path(request):
    path = ngine_io_path(request.param)
    with open(os.path.join(path, 'ansible_collections', 'ngine_io', 'cloudstack',
                           'MANIFEST.json')) as handle:
        assert json.load(handle)['collection_info']['version'] == NGINE_IO[request.param]
    pytest.importorskip('cs', reason='the cs library (tests/requirements.txt) is not installed')
    return COLLECTIONS + ':' + path


def test_requirements_range_holds_the_tested_versions():
    """requirements.yml names a range that holds every ngine_io.cloudstack tested here, and not
    3.1.0, the one release without the cs_* module names zone.yml uses."""
    from ansible.galaxy.dependency_resolution.versioning import meets_requirements
    with open(os.path.join(ROOT, 'requirements.yml')) as handle:
        wanted = dict((c['name'], c['version']) for c in yaml.safe_load(handle)['collections'])
    for version in NGINE_IO.values():
        assert meets_requirements(version, wanted['ngine_io.cloudstack']), version
    assert not meets_requirements('3.1.0', wanted['ngine_io.cloudstack'])
    assert not meets_requirements('4.0.0', wanted['ngine_io.cloudstack'])


def run_zone(collections_path, fake, *extra, **environment):
    env = dict(ANSIBLE_COLLECTIONS_PATH=collections_path, CLOUDSTACK_ENDPOINT=fake.url,
               CLOUDSTACK_KEY=API_KEY, CLOUDSTACK_SECRET=API_SECRET)
    env.update(environment)
    return ansible('ansible-playbook', PLAYBOOK, '-e', 'cloudstack_zone=zone1', *extra, env=env)


def recap_changed(stdout):
    line = [ln for ln in stdout.splitlines() if ln.startswith('localhost ')][-1]
    return int(line.split('changed=')[1].split()[0]), int(line.split('failed=')[1].split()[0])


def indexed(params, name):
    found = {}
    for key, value in params.items():
        if key.startswith(name + '['):
            index, field = key[len(name) + 1:].split('].', 1)
            found.setdefault(int(index), {})[field] = value
    return [found[i] for i in sorted(found)]


def test_syntax(collections_path):
    proc = ansible('ansible-playbook', '--syntax-check', PLAYBOOK,
                   env=dict(ANSIBLE_COLLECTIONS_PATH=collections_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_check_mode_reads_only(collections_path, fake):
    # With the documented example variables, so that file stays valid.
    proc = run_zone(collections_path, fake, '--check', '--diff', '-e', '@docs/zone_vars.example.yml')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    changed, failed = recap_changed(proc.stdout)
    assert failed == 0 and changed >= 4
    assert fake.writes() == []
    assert fake.state['network_offerings'] == [] and fake.state['traffic_types'] == []


def test_converge_then_idempotent(collections_path, fake):
    proc = run_zone(collections_path, fake)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    state = fake.state

    labels = dict((t['traffictype'], t['kvmnetworklabel']) for t in state['traffic_types'])
    assert labels == {'Management': 'cloudbr0', 'Storage': 'cloudbr0', 'Guest': 'cloudbr1',
                      'Public': 'cloudbr1'}
    network = state['physical_networks'][0]
    assert (network['isolationmethods'], network['state'], network['tags']) == (
        'GRE', 'Enabled', 'gre-guest')
    nsps = dict((n['name'], n['state']) for n in state['nsps'])
    assert nsps == {'Ovs': 'Enabled', 'VirtualRouter': 'Enabled'}
    assert state['ovs_elements'][0]['enabled'] is True
    assert state['vr_elements'][0]['enabled'] is True

    created = dict((c[1]['name'], c[1]) for c in fake.calls if c[0] == 'createNetworkOffering')
    assert sorted(created) == ['ovs-isolated-ovs-services', 'ovs-isolated-vr-services']
    for name, table in (('ovs-isolated-vr-services', GUIDE_VR_SERVICES),
                        ('ovs-isolated-ovs-services', GUIDE_OVS_SERVICES)):
        params = created[name]
        assert set(params['supportedservices'].split(',')) == set(table)
        providers = dict((e['service'], e['provider'])
                         for e in indexed(params, 'serviceproviderlist'))
        assert providers == table
        assert params['tags'] == 'gre-guest' and params['guestiptype'] == 'Isolated'
    assert sorted(o['state'] for o in state['network_offerings']) == ['Enabled', 'Enabled']

    offering = [c[1] for c in fake.calls if c[0] == 'createServiceOffering'][0]
    details = dict((d['key'], d['value']) for d in indexed(offering, 'serviceofferingdetails'))
    assert sorted(details) == ['DPDK-VHOSTUSER', 'extraconfig-dpdk-hugepages',
                               'extraconfig-dpdk-numa']
    assert details['DPDK-VHOSTUSER'] == 'server'
    # The values reach CloudStack URL-encoded (it decodes them when the offering is created).
    assert '<' not in details['extraconfig-dpdk-numa']
    assert '<hugepages/>' in unquote(details['extraconfig-dpdk-hugepages'])
    numa = unquote(details['extraconfig-dpdk-numa'])
    assert 'memAccess="shared"' in numa and 'memory="4194304"' in numa and 'cpus="0-1"' in numa
    assert offering['memory'] == '4096' and offering['cpunumber'] == '2'

    fake.calls[:] = []
    again = run_zone(collections_path, fake)
    assert again.returncode == 0, again.stdout + again.stderr
    assert recap_changed(again.stdout) == (0, 0), again.stdout
    assert fake.writes() == []


def test_self_signed_management_server(collections_path, fake_tls):
    """The TLS options travel in the one module_defaults entry to the modules of both
    collections, and CLOUDSTACK_DANGEROUS_NO_TLS_VERIFY means the same to both (its value is
    validate_certs, as ngine_io.cloudstack reads it)."""
    refused = run_zone(collections_path, fake_tls)
    assert refused.returncode != 0
    assert 'certificate verify failed' in refused.stdout, refused.stdout
    assert fake_tls.calls == [] and fake_tls.tls_refused >= 1

    proc = run_zone(collections_path, fake_tls, '-e', 'cloudstack_validate_certs=false')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    nsps = dict((n['name'], n['state']) for n in fake_tls.state['nsps'])
    assert nsps == {'Ovs': 'Enabled', 'VirtualRouter': 'Enabled'}
    assert len(fake_tls.state['network_offerings']) == 2

    # Check mode reads everything (both collections) and finds nothing to change: verified
    # against the certificate as the CA, then unverified through the environment variable.
    for extra, environment in (
            (('-e', 'cloudstack_api_verify_ssl_cert=%s' % fake_tls.ca_file), {}),
            ((), dict(CLOUDSTACK_DANGEROUS_NO_TLS_VERIFY='false'))):
        fake_tls.calls[:] = []
        check = run_zone(collections_path, fake_tls, '--check', *extra, **environment)
        assert check.returncode == 0, check.stdout + check.stderr
        assert recap_changed(check.stdout) == (0, 0), check.stdout
        assert 'listNetworkOfferings' in fake_tls.commands()
        assert 'listOvsElements' in fake_tls.commands()


def test_missing_zone_variable_fails_clearly(collections_path, fake):
    env = dict(ANSIBLE_COLLECTIONS_PATH=collections_path, CLOUDSTACK_ENDPOINT=fake.url,
               CLOUDSTACK_KEY=API_KEY, CLOUDSTACK_SECRET=API_SECRET)
    proc = ansible('ansible-playbook', PLAYBOOK, env=env)
    assert proc.returncode != 0
    assert 'cloudstack_zone' in proc.stdout
    assert fake.calls == []
