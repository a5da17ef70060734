# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""What the OVSDB read of ``gre_mesh_info`` and ``gre_network`` costs a zone-sized host with
their columns (``gre_names.GRE_COLUMNS``: the session monitors and views only the Port and
Interface columns the reading returns and the plan reads and writes) against the whole tables
viewed and then trimmed to the same reading (what both did before; what the other modules'
sessions still monitor).

One throwaway ovsdb-server (no ovs-vswitchd: the read is OVSDB's alone) holds 8 bridges x 127
GRE tunnel ports, as a host of a 128-host zone with 8 networks. Each way is timed ``--rounds``
times, interleaved, as CPU seconds of the reading process (the IDL's thread included): opening
the session with its first copy of the tables, then the views. The two readings must be equal.
Run with the venv's Python and with Debian's ``/usr/bin/python3`` and OVS library (what a lab
host runs), each in a process of its own. Run as root: ``bench/mesh_read_columns.py``.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NETWORKS = 8
PEERS = 127
DEBIAN_PYTHON = '/usr/bin/python3'


def fill(ovs):
    for key in range(1001, 1001 + NETWORKS):
        bridge = 'OVSTunnel%d' % key
        args = ['--no-wait', 'add-br', bridge, '--', 'set', 'bridge', bridge,
                'datapath_type=netdev']
        for peer in range(2, PEERS + 2):
            port = 't%d-1-%d' % (key, peer)
            args += ['--', 'add-port', bridge, port, '--', 'set', 'interface', port, 'type=gre',
                     'options:key=%d' % key, 'options:remote_ip=198.51.100.%d' % peer,
                     'ofport_request=%d' % (peer - 1), '--', 'set', 'port', port,
                     'protected=true', 'external_ids:cloudstack-ovs-owner=gre_network']
        ovs.vsctl(*args, timeout=600)


def measure(db, rounds):
    """In this process: {way: [(open, views), ...]}, after checking both read the same."""
    from ansible_collections.cloudstack.ovs.plugins.module_utils import ovsdb
    from ansible_collections.cloudstack.ovs.plugins.module_utils.gre_names import (
        GRE_COLUMNS,
        GRE_INTERFACE_COLUMNS,
        GRE_PORT_COLUMNS,
    )

    def trimmed(port):
        out = dict((k, port[k]) for k in GRE_PORT_COLUMNS if k != 'interfaces')
        out['interfaces'] = dict((name, dict((k, iface[k]) for k in GRE_INTERFACE_COLUMNS))
                                 for name, iface in port['interfaces'].items())
        return out

    def whole_tables():
        session = ovsdb.OvsdbSession(db=db, timeout=120)
        opened = time.process_time()
        bridges, _internal = session.bridge_details()
        for data in bridges.values():
            data['ports'] = dict((n, trimmed(p)) for n, p in data['ports'].items())
        return session, opened, bridges

    def reader_columns():
        session = ovsdb.OvsdbSession(db=db, timeout=120, columns=GRE_COLUMNS)
        opened = time.process_time()
        return (session, opened) + (session.bridge_details()[0],)

    times, readings = {}, {}
    for _round in range(rounds):
        for way, read in (('whole tables', whole_tables), ('reader columns', reader_columns)):
            start = time.process_time()
            session, opened, readings[way] = read()
            times.setdefault(way, []).append((opened - start, time.process_time() - opened))
            session.close()
    if readings['whole tables'] != readings['reader columns']:
        raise SystemExit('the two ways read different bridges')
    return times


def report(label, times):
    print('%s (%d rounds, CPU seconds best / median)' % (label, len(times['whole tables'])))
    medians = {}
    for way, runs in times.items():
        both = [a + b for a, b in runs]
        medians[way] = statistics.median(both)
        print('  %-15s open + first copy %.3f / %.3f   views %.3f / %.3f   both %.3f / %.3f'
              % (way, min(a for a, _b in runs), statistics.median(a for a, _b in runs),
                 min(b for _a, b in runs), statistics.median(b for _a, b in runs), min(both),
                 medians[way]))
    print('  reader columns / whole tables (both, median): %.2f'
          % (medians['reader columns'] / medians['whole tables']))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--rounds', type=int, default=7)
    parser.add_argument('--child', metavar='DB', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.rounds)))
        return
    if os.geteuid() != 0:
        raise SystemExit('bench/mesh_read_columns.py needs root (its own ovsdb-server)')
    sys.path.insert(0, os.path.join(ROOT, 'tests'))
    from testbed.ansible_cli import COLLECTIONS, ensure_link
    from testbed.ovs import SCHEMA, OvsInstance
    ensure_link()
    work = tempfile.mkdtemp(prefix='csovs-bench-columns-')
    ovs = OvsInstance(os.path.join(work, 'run'))
    try:
        ovs.run('mkdir', '-p', ovs.rundir)
        ovs.run('ovsdb-tool', 'create', ovs.dbfile, SCHEMA)
        ovs.start_ovsdb()
        ovs.vsctl('--no-wait', 'init')
        fill(ovs)
        # Debian's Python gets ansible.module_utils and this collection, nothing else of the venv
        modpath = os.path.join(work, 'modpath')
        os.makedirs(modpath)
        import ansible as ansible_pkg
        os.symlink(os.path.dirname(ansible_pkg.__file__), os.path.join(modpath, 'ansible'))
        os.symlink(os.path.join(COLLECTIONS, 'ansible_collections'),
                   os.path.join(modpath, 'ansible_collections'))
        print('%d bridges x %d GRE tunnel ports' % (NETWORKS, PEERS))
        for label, python, path in (("the venv's Python and OVS library", sys.executable,
                                     COLLECTIONS),
                                    ("Debian's (a lab host's)", DEBIAN_PYTHON, modpath)):
            proc = subprocess.run([python, os.path.abspath(__file__), '--child', ovs.db,
                                   '--rounds', str(args.rounds)],
                                  capture_output=True, text=True, check=False,
                                  env=dict(os.environ, PYTHONPATH=path))
            if proc.returncode != 0:
                raise SystemExit('%s: %s' % (label, proc.stderr[-3000:]))
            report(label, json.loads(proc.stdout))
    finally:
        ovs.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
