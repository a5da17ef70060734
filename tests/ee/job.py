# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""``make ee-test``: jobs in the execution environment image, run the way AWX runs them.

    python -m ee.job [--image IMAGE] [--keep] [--bare]

Three lab hosts (testbed.Lab) reached over SSH; the image runs ``ansible-runner run /runner -p
<playbook>`` with ansible-runner's private data directory mounted at /runner, as AWX's job
containers do:

* ``env/ssh_key`` - the lab's private key, as AWX passes a machine credential (ansible-runner
  loads it into an ssh-agent; it is in no inventory or variable);
* ``env/envvars`` - ``CLOUDSTACK_ENDPOINT``/``KEY``/``SECRET`` as a custom credential's injector
  sets them (docs/zone.md; random values: these jobs do not call the API), and
  ``ANSIBLE_HOST_KEY_CHECKING=False`` as AWX's default;
* ``inventory/hosts.yml`` - the hosts at their underlay addresses, interpreter the host's own
  ``/usr/bin/python3``; no ProxyCommand: the container joins the lab's switch namespace
  (``--network ns:/run/netns/<switch>``) and reaches 192.0.2.0/24 directly;
* ``project/`` - one playbook per job template, each importing the collection's playbook from
  the image (``cloudstack.ovs.gre_mesh``...), so what runs is what the image holds.

Round 1: ``kvm_host.yml`` (Open vSwitch, cloudbr0/cloudbr1 on the userspace datapath; on bare
lab hosts also the modules' Python libraries), ``gre_mesh.yml`` (networks 1001 and 1002), one
"VM" per host and network and pings between them (the mesh forwards), ``mesh_doctor.yml`` (its
report, written in the container, must be clean). Round 2: the same three jobs must change
nothing. Every job's events (``artifacts/<ident>/job_events/*.json``) are summarised and
searched for the private key and the API key and secret. The lab is removed at the end unless
``--keep``. Exit status 0 only when all of that holds.
"""

import argparse
import glob
import inspect
import json
import os
import secrets
import shutil
import subprocess
import sys
import time

import yaml

from ee.image import WORK, conf_path, image_name
from ee.podman import PODMAN, env
from testbed import Lab

KEYS = (1001, 1002)
VM_NET = {1001: '203.0.113.1%d', 1002: '203.0.113.2%d'}
PLAYBOOKS = ('kvm_host', 'gre_mesh', 'mesh_doctor')
HOST_PYTHON = '/usr/bin/python3'
# kvm_host.yml on lab hosts (as the molecule scenario), then the GRE mesh over cloudbr0.
GROUP_VARS = dict(
    openvswitch_kernel_module=False, cloudbr_datapath_type='netdev',
    cloudbr_bridges=[dict(name='cloudbr0', uplink='eth0'), dict(name='cloudbr1', uplink='eth1')],
    cloudstack_gre_networks=list(KEYS), cloudstack_gre_datapath_type='netdev')


def inventory(lab):
    hosts = dict((h.name, dict(ansible_host=h.mgmt_ip, cloudstack_host_id=h.host_id,
                               cloudstack_underlay_ip=h.mgmt_ip)) for h in lab.hosts)
    group_vars = dict(GROUP_VARS, ansible_user='root', ansible_python_interpreter=HOST_PYTHON,
                      ansible_ssh_common_args='-o UserKnownHostsFile=/dev/null',
                      ansible_ssh_pipelining=True)
    return {'all': {'children': {'kvm_hosts': {'hosts': hosts, 'vars': group_vars}}}}


def private_data_dir(path, lab, api):
    """ansible-runner's input directory for the lab; returns the secrets it holds."""
    shutil.rmtree(path, ignore_errors=True)
    for sub in ('env', 'inventory', 'project'):
        os.makedirs(os.path.join(path, sub))
    with open(os.path.join(lab.ssh_dir, 'id_ed25519')) as handle:
        key = handle.read()
    with open(os.path.join(path, 'env', 'ssh_key'), 'w') as handle:
        handle.write(key)
    with open(os.path.join(path, 'env', 'envvars'), 'w') as handle:
        yaml.safe_dump(dict(ANSIBLE_HOST_KEY_CHECKING='False', CLOUDSTACK_ENDPOINT=api['endpoint'],
                            CLOUDSTACK_KEY=api['key'], CLOUDSTACK_SECRET=api['secret']), handle)
    with open(os.path.join(path, 'env', 'extravars'), 'w') as handle:
        yaml.safe_dump(dict(mesh_doctor_dir='/runner/mesh-doctor'), handle)
    with open(os.path.join(path, 'inventory', 'hosts.yml'), 'w') as handle:
        yaml.safe_dump(inventory(lab), handle, sort_keys=False)
    for name in PLAYBOOKS:
        with open(os.path.join(path, 'project', name + '.yml'), 'w') as handle:
            handle.write('---\n- name: cloudstack.ovs.%s from the image\n'
                         '  ansible.builtin.import_playbook: cloudstack.ovs.%s\n' % (name, name))
    # The image runs as uid 1000, group 0 (as AWX's job containers): /runner is group-writable.
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chmod(os.path.join(root, name), 0o770 if name in dirs else 0o660)
    os.chmod(path, 0o770)
    body = [line for line in key.splitlines() if len(line) >= 16 and not line.startswith('-----')]
    if not body:
        raise RuntimeError('no key material in %s to look for' % lab.ssh_dir)
    return dict(ssh_key_body=body, api_key=api['key'], api_secret=api['secret'])


def run_job(conf, image, pdd, lab, playbook, ident, timeout=900):
    """``ansible-runner run`` in the image, in the lab's switch namespace; returns (rc, s)."""
    name = 'cso-ee-%s-%s' % (lab.prefix, ident)
    cmd = [PODMAN, 'run', '--rm', '--name', name,
           '--network', 'ns:/run/netns/%s' % lab.switch_ns,
           '-v', '%s:/runner' % pdd, image,
           'ansible-runner', 'run', '/runner', '-p', playbook + '.yml', '--ident', ident]
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, env=env(conf), capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        subprocess.run([PODMAN, 'rm', '-f', name], env=env(conf), capture_output=True,
                       check=False)
        raise
    return proc, time.monotonic() - start


def job_events(pdd, ident):
    events = []
    for path in glob.glob(os.path.join(pdd, 'artifacts', ident, 'job_events', '*.json')):
        with open(path) as handle:
            events.append(json.load(handle))
    return sorted(events, key=lambda e: e.get('counter', 0))


def summarise(events):
    """Event counts by type and the play recap (playbook_on_stats) per host."""
    counts = {}
    for event in events:
        counts[event['event']] = counts.get(event['event'], 0) + 1
    stats = [e['event_data'] for e in events if e['event'] == 'playbook_on_stats']
    recap = {}
    if stats:
        for field in ('ok', 'changed', 'failures', 'dark', 'skipped'):
            for host, n in (stats[-1].get(field) or {}).items():
                recap.setdefault(host, {})[field] = n
    changed = sorted('%s: %s' % (e['event_data'].get('host'), e['event_data'].get('task'))
                     for e in events if e['event'] == 'runner_on_ok'
                     and e['event_data'].get('res', {}).get('changed'))
    return dict(events=len(events), by_type=counts, recap=recap, changed_tasks=changed)


def leaked(pdd, ident, secret):
    """Secrets found in the job's events and stdout: [(file, what)]."""
    found = []
    files = glob.glob(os.path.join(pdd, 'artifacts', ident, 'job_events', '*.json'))
    files.append(os.path.join(pdd, 'artifacts', ident, 'stdout'))
    needles = [('ssh private key', line) for line in secret['ssh_key_body']]
    needles += [('api key', secret['api_key']), ('api secret', secret['api_secret']),
                ('ssh private key', 'PRIVATE KEY')]
    for path in files:
        if not os.path.exists(path):
            continue
        with open(path, errors='replace') as handle:
            text = handle.read()
        for what, needle in needles:
            if needle in text:
                found.append((os.path.relpath(path, pdd), what))
    return sorted(set(found))


def doctor_summary(pdd):
    """What mesh_doctor.yml wrote on the control node (the container's /runner/mesh-doctor)."""
    with open(os.path.join(pdd, 'mesh-doctor', 'report.json')) as handle:
        report = json.load(handle)
    return dict(clean=report['clean'], errors=report['errors'], warnings=report['warnings'],
                pairs=dict((key, '%d/%d ok' % (sum(1 for p in net['pairs'] if p['ok']),
                                               len(net['pairs'])))
                           for key, net in sorted(report['networks'].items())))


def add_vms_and_ping(lab):
    """One VM per host and network on OVSTunnel<key>; every VM of host 1 pings the others."""
    vms = {}
    for host in lab.hosts:
        for key, pattern in sorted(VM_NET.items()):
            vms[host.index, key] = host.add_vm('OVSTunnel%d' % key, 'n%d' % key,
                                               pattern % host.index + '/24')
    failed = ['%d: kvm1 -> %s' % (key, host.name) for key in KEYS for host in lab.hosts[1:]
              if not vms[1, key].ping(vms[host.index, key].ip)]
    return failed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--image', default=None, help='default: the image make ee builds')
    parser.add_argument('--keep', action='store_true', help='keep the lab and /runner')
    parser.add_argument('--bare', action='store_true',
                        help='bare lab hosts (their own Debian root; kvm_host.yml installs what '
                             'the modules need), where the testbed has them')
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        raise SystemExit('make ee-test needs root (network namespaces, podman)')
    conf = conf_path()
    image = args.image or image_name()
    if subprocess.run([PODMAN, 'image', 'exists', image], env=env(conf),
                      check=False).returncode != 0:
        raise SystemExit('no image %s: run make ee first' % image)
    work = os.path.join(WORK, 'job')
    pdd = os.path.join(work, 'runner')
    api = dict(endpoint='https://cloudstack.example.org/client/api',
               key='ee-test-key-' + secrets.token_hex(12),
               secret='ee-test-secret-' + secrets.token_urlsafe(24))
    lab_args = {}
    if args.bare:
        if 'bare' not in inspect.signature(Lab).parameters:
            raise SystemExit('this testbed has no bare lab hosts (tests/testbed/lab.py)')
        lab_args['bare'] = True
    lab = Lab(os.path.join(work, 'lab'), hosts=3, **lab_args)
    problems = []
    report = dict(image=image, jobs=[])
    start = time.monotonic()
    try:
        lab.create()
        secret = private_data_dir(pdd, lab, api)
        for rnd in (1, 2):
            for playbook in PLAYBOOKS:
                if rnd == 1 and playbook == 'mesh_doctor':
                    failed = add_vms_and_ping(lab)
                    report['pings'] = 'all answered' if not failed else failed
                    if failed:
                        problems.append('VMs do not reach each other: %s' % failed)
                ident = 'r%d-%s' % (rnd, playbook)
                proc, seconds = run_job(conf, image, pdd, lab, playbook, ident)
                summary = summarise(job_events(pdd, ident))
                summary.update(ident=ident, rc=proc.returncode, seconds=round(seconds, 1),
                               leaked=leaked(pdd, ident, secret))
                report['jobs'].append(summary)
                print_job(summary)
                if proc.returncode != 0:
                    problems.append('%s: rc=%d\n%s%s' % (ident, proc.returncode,
                                                         proc.stdout[-3000:], proc.stderr[-2000:]))
                if summary['leaked']:
                    problems.append('%s: secrets in the events: %s' % (ident, summary['leaked']))
                if not summary['events'] or 'playbook_on_stats' not in summary['by_type']:
                    problems.append('%s: no job events' % ident)
                if playbook == 'mesh_doctor' and proc.returncode == 0:
                    report['doctor'] = doctor = doctor_summary(pdd)
                    print('    mesh doctor: %s' % json.dumps(doctor))
                    if not doctor['clean']:
                        problems.append('%s: the mesh doctor found %s' % (ident, doctor))
                if rnd == 2 and summary['changed_tasks']:
                    problems.append('%s: the re-run changed %s' % (ident, summary['changed_tasks']))
                if problems:
                    break
            if problems:
                break
        report['seconds'] = round(time.monotonic() - start, 1)
        report['problems'] = problems
        with open(os.path.join(work, 'report.json'), 'w') as handle:
            json.dump(report, handle, indent=1)
        print('ee-test: %d jobs in %s, %.1f s; report %s' % (
            len(report['jobs']), image, report['seconds'], os.path.join(work, 'report.json')))
    finally:
        if not args.keep:
            lab.destroy()
    for problem in problems:
        print('FAILED: ' + problem, file=sys.stderr)
    return 1 if problems else 0


def print_job(summary):
    types = ' '.join('%s=%d' % kv for kv in sorted(summary['by_type'].items()))
    print('%-16s rc=%d %6.1f s  %d events: %s'
          % (summary['ident'], summary['rc'], summary['seconds'], summary['events'], types))
    for host, fields in sorted(summary['recap'].items()):
        print('    %-10s %s' % (host, ' '.join('%s=%d' % kv for kv in sorted(fields.items()))))
    for task in summary['changed_tasks']:
        print('    changed: ' + task)
    print('    secrets in events: %s' % (summary['leaked'] or 'none'))


if __name__ == '__main__':
    sys.exit(main())
