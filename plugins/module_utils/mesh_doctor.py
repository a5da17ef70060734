# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The mesh doctor: why VMs of one GRE network on two hosts cannot reach each other.

Pure functions only. ``gre_mesh_info`` (on every host) reads the switch (parsed by
``mesh_reading``); its output for every host, with the inventory's view of the zone, goes into
``diagnose`` (called once, on the control node, by the ``mesh_doctor_report`` filter), which
checks every host (``mesh_findings``) and returns the findings and a host-pair matrix per
network; ``mesh_report`` renders them as the Markdown report and the mesh picture.
"""

from ansible_collections.cloudstack.ovs.plugins.module_utils import gre_request, mesh_reading
from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import ParamError
from ansible_collections.cloudstack.ovs.plugins.module_utils.mesh_findings import (
    ERROR,
    Findings,
    Zone,
    check_host,
    host_pair,
    pairs_broken_by,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.mesh_inventory import (
    HOST_ID_VAR,
    NETWORKS_VAR,
    UNDERLAY_VAR,
    check_mesh,
)

LOCAL_IP_VAR = 'cloudstack_gre_local_ip'


# the doctor's input keys of the inventory's variables
_INPUT_KEY = {HOST_ID_VAR: 'host_id', UNDERLAY_VAR: 'underlay_ip', NETWORKS_VAR: 'networks'}


def normalize_hosts(hosts):
    """Check the doctor's input: a list of {name, host_id, underlay_ip, networks, local_ip?,
    info, error?}, the inventory's values as they are.

    Returns ``(checked, problems)``: the hosts whose inventory entry is right (normalised), and
    one ``{host, field, msg}`` per host whose entry is wrong, checked as ``gre_mesh.yml``
    checks it (``mesh_inventory.check_mesh``). Raises ``ParamError`` only for a list the
    playbook itself got wrong (not a list, an entry without a name, a name twice).
    """
    if not isinstance(hosts, list) or not hosts:
        raise ParamError('hosts: must be a non-empty list of {name, host_id, underlay_ip, '
                         'networks, info} (got %r)' % (hosts,))
    raw = {}
    for index, host in enumerate(hosts):
        field = 'hosts[%d]' % index
        if not isinstance(host, dict) or not host.get('name'):
            raise ParamError('%s: must be a dictionary with a name (got %r)' % (field, host))
        if host['name'] in raw:
            raise ParamError('%s.name: duplicate host %r' % (field, host['name']))
        raw[host['name']] = host
    names = [h['name'] for h in hosts]
    valid, problems = check_mesh(names, lambda name, var: raw[name].get(_INPUT_KEY[var]),
                                 required=True)
    out = []
    for entry in valid:
        host = raw[entry['name']]
        local_ip = None
        if host.get('local_ip'):
            try:
                local_ip = gre_request.validate_ip('%s of %s' % (LOCAL_IP_VAR, entry['name']),
                                                   host['local_ip'])
            except ParamError as exc:
                problems.append(dict(host=entry['name'], field=LOCAL_IP_VAR, msg=str(exc)))
                continue
        info, error = mesh_reading.decode_reading(host.get('info'))
        out.append(dict(entry, networks=sorted(entry['networks']), local_ip=local_ip,
                        info=info, error=error or host.get('error')))
    order = dict((name, i) for i, name in enumerate(names))
    problems.sort(key=lambda p: order[p['host']])
    return out, problems


def _unchecked(raw, checked, problems):
    """The host ids and addresses of the hosts not checked, where they read right and are no
    checked host's: tunnels to them are not judged."""
    bad = set(p['host'] for p in problems)
    ids = set(h['host_id'] for h in checked)
    ips = set(h['underlay_ip'] for h in checked)
    out = set()
    for host in raw:
        if host['name'] not in bad:
            continue
        for rule, value, taken in ((gre_request.validate_host_id, host.get('host_id'), ids),
                                   (gre_request.validate_ip, host.get('underlay_ip'), ips)):
            try:
                value = rule('unchecked', value)
            except ParamError:
                continue
            if value not in taken:
                out.add(value)
    return out


def tunnel_traces(hosts):
    """{traced, tunnels}: from how many of the hosts' tunnel ports a broadcast was traced (each
    bridge's ``from_tunnels``) and how many they have (its ``tunnel_count``)."""
    traced = dict(traced=0, tunnels=0)
    for host in hosts:
        for bridge in ((host['info'] or {}).get('bridges') or {}).values():
            trace = (bridge or {}).get('trace')
            if not trace:
                continue
            done = len(trace.get('from_tunnels') or [])
            traced['traced'] += done
            traced['tunnels'] += trace.get('tunnel_count', done)
    return traced


def diagnose(hosts):
    """Findings, per-network pair matrix and mesh links for the whole zone.

    ``hosts``: [{name, host_id, underlay_ip, networks, local_ip?, info, error?}] where ``info``
    is the ``gre_mesh_info`` result of the host (None when it could not be read, with
    ``error``), the inventory's values as they are. Returns a dict: ``findings`` (errors
    first), ``networks`` ({key: {hosts, pairs}}), ``clean`` (no error), ``errors``/``warnings``
    counts, ``hosts`` (those checked), ``tunnel_traces`` ({traced, tunnels}: from how many of
    the tunnel ports read a broadcast was traced, ``max_tunnel_traces``) and ``unchecked`` ([{name, why}]: hosts whose inventory
    entry is wrong, each also an ``inventory-invalid`` finding; tunnels to them are not judged).
    """
    raw = hosts
    hosts, problems = normalize_hosts(raw)
    zone = Zone(hosts)
    found = Findings()
    for problem in problems:
        found.add('inventory-invalid', problem['host'],
                  '%s; %s was not checked' % (problem['msg'], problem['host']),
                  'correct %s of %s in the inventory (the same check fails gre_mesh.yml) and '
                  'run the doctor again' % (problem['field'], problem['host']))
    unchecked = _unchecked(raw, hosts, problems)
    for host in hosts:
        check_host(found, host, zone, unchecked)

    findings = sorted(found.items, key=lambda f: (f['severity'] != ERROR, f['host'],
                                                  f['network'] or 0, f['kind'], f['port'] or ''))
    # The matrix itself has a row per host pair of each network (hosts^2 per network); what
    # breaks each pair is looked up, not searched for among all findings.
    broken = pairs_broken_by(findings)
    networks = {}
    for key in zone.keys:
        pairs = []
        names = zone.members[key]
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                why = broken.get(host_pair(key, a, b), ())
                pairs.append(dict(a=a, b=b, ok=not why,
                                  why=['%s: %s' % (f['host'], f['title']) for f in why]))
        networks[key] = dict(hosts=names, pairs=pairs)
    errors = sum(1 for f in findings if f['severity'] == ERROR)
    for finding in findings:
        finding['pairs'] = [list(p) for p in finding['pairs']]
    return dict(findings=findings, networks=networks, clean=errors == 0, errors=errors,
                warnings=len(findings) - errors,
                unchecked=[dict(name=p['host'], why=p['msg']) for p in problems],
                tunnel_traces=tunnel_traces(hosts),
                hosts=[dict(name=h['name'], host_id=h['host_id'], underlay_ip=h['underlay_ip'],
                            networks=h['networks']) for h in hosts])
