# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The GRE mesh as the inventory gives it: every host's entry checked at once.

Shared by the ``gre_mesh_networks`` filter (``playbooks/gre_mesh.yml``) and the mesh doctor
(``mesh_doctor.diagnose``), so both refuse the same inventories with the same words. The whole
mesh is checked, not only the peers of one host: a bad entry of any host fails every host's
run before any host changes. One pass reads each host's three variables once: linear in hosts
x networks. The value rules are ``gre_request``'s (the ones ``gre_network`` applies).
Pure; standard library only.
"""

from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import ParamError
from ansible_collections.cloudstack.ovs.plugins.module_utils.gre_request import (
    KEY_MAX,
    KEY_MIN,
    validate_host_id,
    validate_ip,
    validate_key,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.validate import describe

NETWORKS_VAR = 'cloudstack_gre_networks'
HOST_ID_VAR = 'cloudstack_host_id'
UNDERLAY_VAR = 'cloudstack_underlay_ip'
VARIABLES = (HOST_ID_VAR, UNDERLAY_VAR, NETWORKS_VAR)
# How many problems one error message lists (a broken inventory of 128 hosts stays readable).
SHOWN = 5
# Address literals already read (text -> canonical form): the filter reads every host's address
# once per host of the run; parsing one is most of what checking a host costs. A pure function
# of the text, so kept across calls; bounded.
_ADDRESSES = {}
_ADDRESSES_MAX = 4096


def _field(var, name):
    return '%s of %s' % (var, name)


def _networks(name, value):
    """A host's GRE keys as ints (order kept, duplicates dropped)."""
    field = _field(NETWORKS_VAR, name)
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise ParamError('%s: must be a list of GRE keys (got %s)' % (field, describe(value)),
                         field=NETWORKS_VAR)
    if all(isinstance(item, int) and not isinstance(item, bool) and KEY_MIN <= item <= KEY_MAX
           for item in value):
        return [int(k) for k in dict.fromkeys(value)]   # the common case, without a call per key
    keys, seen = [], set()
    for item in value:
        key = validate_key(field, item)
        if key not in seen:
            seen.add(key)
            keys.append(key)
    return keys


def _address(field, value):
    if isinstance(value, str) and value in _ADDRESSES:
        return _ADDRESSES[value]
    address = validate_ip(field, value)
    if len(_ADDRESSES) >= _ADDRESSES_MAX:
        _ADDRESSES.clear()
    _ADDRESSES[value] = address
    return address


def _check(var, name, value, rule):
    try:
        return rule(_field(var, name), value)
    except ParamError as exc:
        raise ParamError(str(exc), field=var)


def check_entry(name, read, required=False):
    """One host's entry: ``read(var)`` gives the value of an inventory variable (None when
    unset; it raises ``ParamError`` when the value cannot be read).

    Returns ``{name, host_id, underlay_ip, networks}``. ``cloudstack_host_id`` and
    ``cloudstack_underlay_ip`` are required of a host that carries a network (``required``:
    of every host); when given they are checked either way. Raises ``ParamError`` naming the
    variable and the host.
    """
    networks = _networks(name, read(NETWORKS_VAR))
    out = dict(name=name, networks=networks)
    for var, rule, key in ((HOST_ID_VAR, validate_host_id, 'host_id'),
                           (UNDERLAY_VAR, _address, 'underlay_ip')):
        value = read(var)
        if value is None or value == '':
            if required or networks:
                raise ParamError('%s: is not set; %s %s' % (
                    _field(var, name), name,
                    'carries GRE network(s) %s' % ', '.join(str(k) for k in networks)
                    if networks else 'is a member of the mesh'), field=var)
            out[key] = None
            continue
        out[key] = _check(var, name, value, rule)
    return out


def check_mesh(names, read, required=False):
    """Every host of the mesh, checked: ``(hosts, problems)``.

    ``names``: the hosts' inventory names (repeats count once); ``read(name, var)`` as in
    ``check_entry``. ``hosts`` lists the valid entries in ``names`` order; ``problems`` one
    ``{host, field, msg}`` per host whose entry is wrong (its first fault), including the second
    of two hosts with the same ``cloudstack_host_id`` or ``cloudstack_underlay_ip`` (the message
    names both). A host with a problem is not in ``hosts``.
    """
    hosts, problems = [], []
    by_id, by_ip, seen = {}, {}, set()
    for name in names:
        if name in seen:
            continue
        seen.add(name)
        try:
            entry = check_entry(name, lambda var, name=name: read(name, var), required)
        except ParamError as exc:
            problems.append(dict(host=name, field=exc.field, msg=str(exc)))
            continue
        clash = None
        if entry['host_id'] is not None and entry['host_id'] in by_id:
            clash = (HOST_ID_VAR, entry['host_id'], by_id[entry['host_id']])
        elif entry['underlay_ip'] is not None and entry['underlay_ip'] in by_ip:
            clash = (UNDERLAY_VAR, entry['underlay_ip'], by_ip[entry['underlay_ip']])
        if clash:
            var, value, other = clash
            problems.append(dict(host=name, field=var, msg='%s: %s is also the %s of %s; each '
                                 'host needs its own' % (_field(var, name), value, var, other)))
            continue
        if entry['host_id'] is not None:
            by_id[entry['host_id']] = name
        if entry['underlay_ip'] is not None:
            by_ip[entry['underlay_ip']] = name
        hosts.append(entry)
    return hosts, problems


def problems_message(problems):
    """One message for ``problems`` (the first few of them, and how many more)."""
    shown = '; '.join(p['msg'] for p in problems[:SHOWN])
    more = len(problems) - SHOWN
    return shown + ('; and %d more' % more if more > 0 else '')


def validate_mesh(names, read, required=False):
    """``check_mesh`` that raises ``ParamError`` (every problem, named) unless all is well."""
    hosts, problems = check_mesh(names, read, required)
    if problems:
        raise ParamError('the mesh inventory is wrong, no host is changed: %s'
                         % problems_message(problems), field=problems[0]['field'])
    return hosts
