# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The cloudbr role's pure parts: planning the address move, editing ifupdown files."""

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudstack.ovs.plugins.filter.cloudbr import cloudbr_plan, ifupdown_disable


def link(name, mac, *addrs):
    return dict(ifname=name, address=mac, addr_info=list(addrs))


def inet(local, plen, scope='global', dynamic=False, family='inet'):
    out = dict(family=family, local=local, prefixlen=plen, scope=scope)
    if dynamic:
        out['dynamic'] = True
    return out


STATE = dict(
    addr=[link('lo', '00:00:00:00:00:00', inet('127.0.0.1', 8, scope='host')),
          link('eth0', '52:54:00:00:00:01', inet('192.0.2.11', 24),
               inet('2001:db8::11', 64, family='inet6'), inet('fe80::1', 64, scope='link', family='inet6')),
          link('cloudbr0', '52:54:00:00:00:01')],
    route4=[dict(dst='default', gateway='192.0.2.1', dev='eth0', protocol='boot', flags=[]),
            dict(dst='192.0.2.0/24', dev='eth0', protocol='kernel', scope='link', prefsrc='192.0.2.11'),
            dict(dst='203.0.113.0/24', gateway='192.0.2.254', dev='eth0', metric=50, protocol='static')],
    route6=[dict(dst='2001:db8::/64', dev='eth0', protocol='kernel', metric=256),
            dict(dst='fe80::/64', dev='eth0', protocol='kernel', metric=256),
            dict(dst='default', gateway='2001:db8::1', dev='eth0', protocol='static', metric=1024)],
)


def test_plan_moves_global_addresses_and_operator_routes_only():
    plan = cloudbr_plan(STATE, 'cloudbr0', 'eth0')
    assert plan['move_needed'] is True
    assert plan['forward'] == [
        'addr add 192.0.2.11/24 dev cloudbr0', 'addr del 192.0.2.11/24 dev eth0',
        'addr add 2001:db8::11/64 dev cloudbr0', 'addr del 2001:db8::11/64 dev eth0',
        'route replace 0.0.0.0/0 via 192.0.2.1 dev cloudbr0',
        'route replace 203.0.113.0/24 via 192.0.2.254 dev cloudbr0 metric 50',
        'route replace ::/0 via 2001:db8::1 dev cloudbr0 metric 1024']
    # undo: addresses back first (in reverse), then the routes through the uplink again
    assert plan['backward'][:4] == [
        'addr add 2001:db8::11/64 dev eth0', 'addr del 2001:db8::11/64 dev cloudbr0',
        'addr add 192.0.2.11/24 dev eth0', 'addr del 192.0.2.11/24 dev cloudbr0']
    assert 'route replace 0.0.0.0/0 via 192.0.2.1 dev eth0' in plan['backward']
    assert plan['check_address'] == '192.0.2.1'
    assert plan['gateway4'] == '192.0.2.1' and plan['gateway6'] == '2001:db8::1'
    assert plan['mac'] == '52:54:00:00:00:01'
    assert [a['local'] for a in plan['addresses']] == ['192.0.2.11', '2001:db8::11']
    assert plan['dynamic'] is False


def test_plan_after_the_move_needs_nothing_and_still_knows_the_addressing():
    moved = dict(
        addr=[link('eth0', '52:54:00:00:00:01', inet('fe80::1', 64, scope='link', family='inet6')),
              link('cloudbr0', '52:54:00:00:00:01', inet('192.0.2.11', 24, dynamic=True))],
        route4=[dict(dst='default', gateway='192.0.2.1', dev='cloudbr0', protocol='dhcp')],
        route6=[])
    plan = cloudbr_plan(moved, 'cloudbr0', 'eth0')
    assert plan['move_needed'] is False and plan['forward'] == [] and plan['check_address'] is None
    assert plan['addresses'][0]['local'] == '192.0.2.11' and plan['dynamic'] is True
    assert plan['gateway4'] == '192.0.2.1'


def test_plan_takes_the_mac_of_a_bond_member_and_needs_the_state():
    state = dict(addr=[link('eth2', 'aa:bb:cc:00:00:02')], route4=[], route6=[])
    assert cloudbr_plan(state, 'cloudbr1', 'bond0', 'eth2')['mac'] == 'aa:bb:cc:00:00:02'
    assert cloudbr_plan(state, 'cloudbr1', 'nic9')['mac'] is None
    with pytest.raises(AnsibleFilterError, match='cloudbr_plan'):
        cloudbr_plan('nonsense', 'cloudbr0', 'eth0')


INTERFACES = """# The loopback network interface
auto lo
iface lo inet loopback

auto eth0 eth1
iface eth0 inet static
    address 192.0.2.11/24
    gateway 192.0.2.1
    # a comment in the stanza stays a comment

allow-hotplug eth1
iface eth1 inet dhcp

source /etc/network/interfaces.d/*
"""


def test_ifupdown_disable_comments_out_the_uplink_only_and_is_idempotent():
    out = ifupdown_disable(INTERFACES, 'eth0', note='moved')
    assert out == """# The loopback network interface
auto lo
iface lo inet loopback

# auto eth0 eth1  # moved
auto eth1
# iface eth0 inet static  # moved
#     address 192.0.2.11/24
#     gateway 192.0.2.1
    # a comment in the stanza stays a comment

allow-hotplug eth1
iface eth1 inet dhcp

source /etc/network/interfaces.d/*
"""
    assert ifupdown_disable(out, 'eth0', note='moved') == out
    both = ifupdown_disable(INTERFACES, ['eth0', 'eth1'], note='moved')
    assert 'iface eth1 inet dhcp\n' not in both and '# iface eth1 inet dhcp  # moved\n' in both
    assert '# allow-hotplug eth1  # moved\n' in both and '\nauto eth1\n' not in both
    assert ifupdown_disable(INTERFACES, 'eth7') == INTERFACES
