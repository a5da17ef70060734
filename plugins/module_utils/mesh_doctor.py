# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The mesh doctor: why VMs of one GRE network on two hosts cannot reach each other.

Pure functions only. ``gre_mesh_info`` (on every host) reads the switch (parsed by
``mesh_reading``); its output for every host, with the inventory's view of the zone, goes into
``diagnose`` (called once, on the control node, by the ``mesh_doctor_report`` filter), which
checks every host (``mesh_findings``) and returns the findings and a host-pair matrix per
network; ``mesh_report`` renders them as the Markdown report and the mesh picture.
"""

from ansible_collections.cloudstack.ovs.plugins.module_utils import gre_request
from ansible_collections.cloudstack.ovs.plugins.module_utils.mesh_findings import (
    ERROR,
    Findings,
    check_host,
    host_pair,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.validate import ParamError


def normalize_hosts(hosts):
    """Validate the doctor's input: a list of {name, host_id, underlay_ip, networks, info}."""
    if not isinstance(hosts, list) or not hosts:
        raise ParamError('hosts: must be a non-empty list of {name, host_id, underlay_ip, '
                         'networks, info} (got %r)' % (hosts,))
    out = []
    names = set()
    for index, host in enumerate(hosts):
        field = 'hosts[%d]' % index
        if not isinstance(host, dict) or not host.get('name'):
            raise ParamError('%s: must be a dictionary with a name (got %r)' % (field, host))
        if host['name'] in names:
            raise ParamError('%s.name: duplicate host %r' % (field, host['name']))
        names.add(host['name'])
        keys = [gre_request.validate_key('%s.networks' % field, k) for k in host.get('networks') or []]
        out.append(dict(
            name=host['name'],
            host_id=gre_request.validate_host_id(field + '.host_id', host.get('host_id')),
            underlay_ip=gre_request.validate_ip(field + '.underlay_ip', host.get('underlay_ip')),
            local_ip=(gre_request.validate_ip(field + '.local_ip', host['local_ip'])
                      if host.get('local_ip') else None),
            networks=sorted(set(keys)), info=host.get('info'),
            error=host.get('error')))
    return out


def diagnose(hosts):
    """Findings, per-network pair matrix and mesh links for the whole zone.

    ``hosts``: [{name, host_id, underlay_ip, networks, local_ip?, info, error?}] where ``info``
    is the ``gre_mesh_info`` result of the host (None when it could not be read, with
    ``error``). Returns a dict: ``findings`` (errors first), ``networks`` ({key: {hosts,
    pairs}}), ``clean`` (no error), ``errors``/``warnings`` counts.
    """
    hosts = normalize_hosts(hosts)
    by_name = dict((h['name'], h) for h in hosts)
    found = Findings()
    keys = sorted(set(k for h in hosts for k in h['networks']))
    members = dict((k, [h['name'] for h in hosts if k in h['networks']]) for k in keys)
    for host in hosts:
        check_host(found, host, by_name, members, hosts)

    findings = sorted(found.items, key=lambda f: (f['severity'] != ERROR, f['host'],
                                                  f['network'] or 0, f['kind'], f['port'] or ''))
    networks = {}
    for key in keys:
        pairs = []
        names = members[key]
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                why = [f for f in findings if f['severity'] == ERROR
                       and host_pair(key, a, b) in f['pairs']]
                pairs.append(dict(a=a, b=b, ok=not why,
                                  why=['%s: %s' % (f['host'], f['title']) for f in why]))
        networks[key] = dict(hosts=names, pairs=pairs)
    errors = sum(1 for f in findings if f['severity'] == ERROR)
    for finding in findings:
        finding['pairs'] = [list(p) for p in finding['pairs']]
    return dict(findings=findings, networks=networks, clean=errors == 0, errors=errors,
                warnings=len(findings) - errors,
                hosts=[dict(name=h['name'], host_id=h['host_id'], underlay_ip=h['underlay_ip'],
                            networks=h['networks']) for h in hosts])
