# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Filters of the cloudbr role: plan an address move onto a bridge, and edit ifupdown files.

Pure functions, unit-tested in tests/unit/plugins/filter/test_cloudbr.py.
"""

import re

from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import ParamError
from ansible_collections.cloudstack.ovs.plugins.plugin_utils.filter_errors import filter_errors


def _routes_of(routes, dev, family):
    """Routes through ``dev`` that the operator (or DHCP) made: those the move must carry over.

    Routes the kernel makes itself (the prefix route of an address, IPv6 link-local and
    multicast routes) come back by themselves with the address and are left out.
    """
    out = []
    for route in routes or []:
        if route.get('dev') != dev or route.get('protocol') == 'kernel':
            continue
        dst = route.get('dst', '')
        if family == 6 and (dst.startswith('fe80:') or dst.startswith('ff00:')):
            continue
        if route.get('type', 'unicast') != 'unicast':
            continue
        if dst == 'default':
            dst = '0.0.0.0/0' if family == 4 else '::/0'
        out.append(dict(family=family, dst=dst, gateway=route.get('gateway'),
                        metric=route.get('metric'), protocol=route.get('protocol')))
    return out


def _addrs_of(links, dev):
    for link in links or []:
        if link.get('ifname') == dev:
            return [dict(family=4 if a.get('family') == 'inet' else 6, local=a['local'],
                         prefixlen=a['prefixlen'], dynamic=bool(a.get('dynamic')))
                    for a in link.get('addr_info', [])
                    if a.get('scope') == 'global' and a.get('family') in ('inet', 'inet6')]
    return []


def _mac_of(links, dev):
    for link in links or []:
        if link.get('ifname') == dev:
            return link.get('address')
    return None


def _route_cmd(route, dev):
    cmd = 'route replace %s' % route['dst']
    if route.get('gateway'):
        cmd += ' via %s' % route['gateway']
    cmd += ' dev %s' % dev
    if route.get('metric') is not None:
        cmd += ' metric %s' % route['metric']
    return cmd


@filter_errors(named=True)
def cloudbr_plan(ip_state, bridge, uplink, mac_from=None):
    """What moving ``uplink``'s addressing onto ``bridge`` takes, from ``ip -j`` output.

    ``ip_state`` is ``{'addr': <ip -j addr>, 'route4': <ip -j -4 route>, 'route6': <ip -j -6 route>}``.
    ``mac_from`` names the interface whose MAC the bridge takes (the uplink, or a bond's first
    member). Returns a dict: ``move_needed``, ``addresses`` and ``routes`` (what the bridge has
    once moved, for the persistent configuration), ``forward``/``backward`` (``ip -batch``
    commands that move the addressing and undo it), ``check_address`` (a gateway that must
    answer after the move), ``gateway4``/``gateway6``, ``dynamic`` and ``mac``.
    """
    if not isinstance(ip_state, dict) or 'addr' not in ip_state:
        raise ParamError('expects the ip -j state dict (got %r)' % (ip_state,))
    links = ip_state.get('addr') or []
    routes = dict((fam, ip_state.get('route%d' % fam) or []) for fam in (4, 6))
    up_addrs = _addrs_of(links, uplink)
    br_addrs = _addrs_of(links, bridge)
    up_routes = _routes_of(routes[4], uplink, 4) + _routes_of(routes[6], uplink, 6)
    br_routes = _routes_of(routes[4], bridge, 4) + _routes_of(routes[6], bridge, 6)

    forward = []
    backward = []
    for addr in up_addrs:
        cidr = '%s/%s' % (addr['local'], addr['prefixlen'])
        if not any(a['local'] == addr['local'] for a in br_addrs):
            forward.append('addr add %s dev %s' % (cidr, bridge))
            backward.insert(0, 'addr del %s dev %s' % (cidr, bridge))
        forward.append('addr del %s dev %s' % (cidr, uplink))
        backward.insert(0, 'addr add %s dev %s' % (cidr, uplink))
    # Routes after the addresses: a gateway is only reachable once its subnet is on the bridge.
    for route in up_routes:
        forward.append(_route_cmd(route, bridge))
        backward.append(_route_cmd(route, uplink))
    for route in up_routes:
        # the same destination through the bridge goes again when the move is undone
        backward.append('route del %s dev %s' % (route['dst'], bridge))

    addresses = br_addrs + [a for a in up_addrs if not any(b['local'] == a['local'] for b in br_addrs)]
    final_routes = br_routes + [r for r in up_routes
                                if not any(b['dst'] == r['dst'] for b in br_routes)]

    def gateway(family):
        for route in final_routes:
            if route['family'] == family and route['dst'] in ('0.0.0.0/0', '::/0'):
                return route.get('gateway')
        return None

    moved_gateways = [r['gateway'] for r in up_routes
                      if r['dst'] in ('0.0.0.0/0', '::/0') and r.get('gateway')]
    return dict(
        move_needed=bool(up_addrs or up_routes),
        uplink_addresses=up_addrs,
        addresses=addresses,
        routes=final_routes,
        forward=forward,
        backward=backward,
        check_address=moved_gateways[0] if moved_gateways else None,
        gateway4=gateway(4),
        gateway6=gateway(6),
        dynamic=any(a['dynamic'] for a in addresses),
        mac=_mac_of(links, mac_from or uplink),
    )


_STANZA_START = re.compile(r'^(auto|allow-[\w-]+|iface|mapping|source|source-directory|rename)\b')


def ifupdown_disable(text, interfaces, note='moved to an OVS bridge by cloudstack.ovs'):
    """Comment out what an ifupdown file says about ``interfaces``.

    ``auto``/``allow-*`` lines lose those interfaces (the line is commented out when none is
    left), and each ``iface <name> ...`` stanza of them is commented out with its option lines.
    Everything else stays byte for byte; a second call changes nothing.
    """
    if isinstance(interfaces, str):
        interfaces = [interfaces]
    wanted = set(interfaces)
    out = []
    in_stanza = False
    for line in text.splitlines(True):
        stripped = line.strip()
        body = line.rstrip('\n')
        newline = line[len(body):]
        if _STANZA_START.match(stripped):
            in_stanza = False
            words = stripped.split()
            if words[0] == 'iface' and len(words) > 1 and words[1] in wanted:
                in_stanza = True
                out.append('# %s  # %s%s' % (body, note, newline))
                continue
            if words[0] == 'auto' or words[0].startswith('allow-'):
                keep = [w for w in words[1:] if w not in wanted]
                if len(keep) != len(words) - 1:
                    out.append('# %s  # %s%s' % (body, note, newline))
                    if keep:
                        out.append('%s %s%s' % (words[0], ' '.join(keep), newline))
                    continue
        elif in_stanza and stripped and not stripped.startswith('#'):
            out.append('# %s%s' % (body, newline))
            continue
        out.append(line)
    return ''.join(out)


class FilterModule(object):
    def filters(self):
        return dict(cloudbr_plan=cloudbr_plan, ifupdown_disable=ifupdown_disable)
