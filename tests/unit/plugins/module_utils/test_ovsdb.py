# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Pure parts of the OVSDB layer: validation, map planning, op descriptions, errors."""

import os
import socket
import tempfile
import threading

import pytest

from ansible_collections.cloudstack.ovs.plugins.module_utils import ovsdb
from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import OvsdbError, ParamError
from ansible_collections.cloudstack.ovs.plugins.module_utils.ovsdb import OvsdbSession
from ansible_collections.cloudstack.ovs.plugins.module_utils.ovsdb_ops import (
    describe_op,
    map_ops,
    plan_map,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.ovsdb_options import validate_db
from ansible_collections.cloudstack.ovs.plugins.module_utils.validate import (
    normalize_map,
    validate_ifname,
)


@pytest.mark.parametrize('name', ['cloudbr0', 'a', 'x' * 15, 'OVSTunnel1001', 'br-int.10'])
def test_valid_ifnames(name):
    assert validate_ifname('name', name) == name


@pytest.mark.parametrize('name, fragment', [
    ('x' * 16, '16 bytes long in UTF-8'),
    ('br-test-abcdefghijklmn', "'br-test-abcdefghijklmn' is 22 bytes long"),
    ('br/0', "may not contain '/'"),
    ('br 0', 'whitespace'),
    ('br\t0', 'whitespace'),
    ('br:0', "':'"),
    ('', 'non-empty'),
    ('..', "may not contain"),
])
def test_invalid_ifnames_name_field_and_value(name, fragment):
    with pytest.raises(ParamError) as err:
        validate_ifname('bridge', name)
    assert str(err.value).startswith('bridge: ')
    assert fragment in str(err.value)


def test_non_string_ifname():
    with pytest.raises(ParamError, match=r'^name: must be a non-empty name \(got 5\)'):
        validate_ifname('name', 5)


@pytest.mark.parametrize('db, expected', [
    ('unix:/var/run/openvswitch/db.sock', ('unix', '/var/run/openvswitch/db.sock')),
    ('tcp:192.0.2.10:6640', ('tcp', ('192.0.2.10', 6640))),
    ('ssl:[2001:db8::1]:6640', ('ssl', ('2001:db8::1', 6640))),
])
def test_validate_db_accepts(db, expected):
    assert validate_db(db) == expected


@pytest.mark.parametrize('db, fragment', [
    ('/var/run/openvswitch/db.sock', 'is not an OVSDB connection string'),
    ('unix:', 'names no socket path'),
    ('tcp:192.0.2.10', 'needs the form tcp:<ip>:<port>'),
    ('tcp:192.0.2.10:99999', 'needs the form tcp:<ip>:<port>'),
    ('punix:/tmp/x', "uses 'punix'"),
])
def test_validate_db_rejects(db, fragment):
    with pytest.raises(ParamError) as err:
        validate_db(db)
    assert str(err.value).startswith('db: ')
    assert fragment in str(err.value)


def test_normalize_map_stringifies_like_ovs_vsctl_users_write():
    assert normalize_map('other_config', {'a': True, 'b': False, 'c': 3, 'd': None, 'e': 'x'}) == {
        'a': 'true', 'b': 'false', 'c': '3', 'd': None, 'e': 'x'}
    assert normalize_map('other_config', None) is None


def test_normalize_map_rejects_non_dict_and_empty_keys():
    with pytest.raises(ParamError, match=r"^external_ids: must be a dictionary \(got \['a'\]\)"):
        normalize_map('external_ids', ['a'])
    with pytest.raises(ParamError, match=r"^external_ids: keys must be non-empty strings"):
        normalize_map('external_ids', {'': 'x'})


def test_plan_map_sets_only_what_differs_and_keeps_the_rest():
    after, to_set, to_remove = plan_map({'a': '1', 'b': '2', 'keep': 'k'},
                                        {'a': '1', 'b': '3', 'c': '4', 'gone': None})
    assert to_set == {'b': '3', 'c': '4'}
    assert to_remove == []          # 'gone' was not there
    assert after == {'a': '1', 'b': '3', 'c': '4', 'keep': 'k'}


def test_plan_map_none_removes_existing_key():
    after, to_set, to_remove = plan_map({'a': '1', 'b': '2'}, {'a': None})
    assert (after, to_set, to_remove) == ({'b': '2'}, {}, ['a'])


def test_plan_map_purge_removes_unnamed_keys():
    after, to_set, to_remove = plan_map({'a': '1', 'b': '2', 'c': '3'}, {'a': '1'}, purge=True)
    assert (after, to_set, to_remove) == ({'a': '1'}, {}, ['b', 'c'])


def test_plan_map_idempotent():
    assert plan_map({'a': '1'}, {'a': '1'}) == ({'a': '1'}, {}, [])
    assert plan_map({}, {}, purge=True) == ({}, {}, [])


def test_map_ops_and_descriptions():
    ops = map_ops('Bridge', 'br0', 'other_config', {'b': '2', 'a': '1'}, ['c'])
    assert ops == [
        dict(op='set', table='Bridge', record='br0', column='other_config', value={'a': '1', 'b': '2'}),
        dict(op='remove_keys', table='Bridge', record='br0', column='other_config', keys=['c']),
    ]
    assert [describe_op(o) for o in ops] == [
        'set Bridge br0 other_config: a=1, b=2',
        'remove Bridge br0 other_config keys: c',
    ]
    assert map_ops('Bridge', 'br0', 'other_config', {}, []) == []


def test_describe_every_op_kind():
    assert describe_op(dict(op='add_bridge', bridge='b')) == 'add bridge b'
    assert describe_op(dict(op='del_bridge', bridge='b')) == 'delete bridge b'
    assert describe_op(dict(op='add_port', bridge='b', port='p')) == 'add port p to bridge b'
    assert describe_op(dict(op='del_port', bridge='b', port='p')) == 'delete port p from bridge b'
    assert describe_op(dict(op='clear', table='Port', record='p', column='tag')) == 'clear Port p tag'
    with pytest.raises(ValueError):
        describe_op(dict(op='explode'))


def test_missing_socket_names_db():
    with pytest.raises(OvsdbError) as err:
        OvsdbSession(db='unix:/nonexistent/cloudstack-ovs/db.sock', timeout=1)
    assert 'db: cannot connect to unix:/nonexistent/cloudstack-ovs/db.sock' in str(err.value)


def test_socket_nobody_listens_on_names_db():
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'db.sock')
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(path)      # bound but never listening: connect is refused
        try:
            with pytest.raises(OvsdbError) as err:
                OvsdbSession(db='unix:' + path, timeout=1)
        finally:
            sock.close()
    assert str(err.value).startswith('db: cannot connect to unix:%s' % path)


def test_bad_timeout_and_ssl_without_files():
    with pytest.raises(ParamError, match='^timeout: must be a positive number'):
        OvsdbSession(db='unix:/x', timeout=0)
    with pytest.raises(ParamError, match='^db: ssl:192.0.2.1:6640 needs ssl_private_key, '
                                         'ssl_certificate, ssl_ca_cert'):
        OvsdbSession(db='ssl:192.0.2.1:6640', timeout=1)


def test_missing_ovsdbapp_is_reported(monkeypatch):
    monkeypatch.setattr(ovsdb, 'OVSDBAPP_IMPORT_ERROR', 'Traceback: No module named ovsdbapp')
    with pytest.raises(OvsdbError, match='ovsdbapp'):
        OvsdbSession(db='unix:/x', timeout=1)

    class FakeModule(object):
        params = dict(db='unix:/x', timeout=1)

    # A module fails through the one fail path (run_module), with the import's traceback
    # as the detail shown at -vvv.
    with pytest.raises(OvsdbError) as err:
        OvsdbSession(FakeModule())
    assert 'ovsdbapp' in str(err.value) and err.value.changed is False
    assert 'No module named ovsdbapp' in err.value.detail


def test_missing_ovs_bindings_are_named_ovs(monkeypatch):
    monkeypatch.setattr(ovsdb, 'OVSDBAPP_IMPORT_ERROR', "Traceback: No module named 'ovs'")
    monkeypatch.setattr(ovsdb, 'OVSDB_MISSING_LIBRARY', 'ovs')
    with pytest.raises(OvsdbError, match=r'required Python library \(ovs\)'):
        OvsdbSession(db='unix:/x', timeout=1)


class _Row(object):
    """A row of the IDL's copy: every column but the unmonitored ones (reading one of those
    fails, as on a row whose column the session does not monitor); ``only``: the session's
    ``columns`` ({table: columns})."""

    def __init__(self, table, only=None, **values):
        self._table = table
        self._only = (only or {}).get(table)
        self._values = values

    def __getattr__(self, name):
        if not ovsdb.monitored_columns(self._table, [name], self._only):
            raise AttributeError('%s.%s is not monitored' % (self._table, name))
        return self._values.get(name, [])


def test_monitored_columns_leave_out_counters_and_unread_status():
    columns = ['name', 'type', 'options', 'ofport', 'link_state', 'admin_state', 'error',
               'mac_in_use', 'status', 'statistics', 'ifindex', 'mtu', 'mtu_request',
               'link_speed', 'cfm_health', 'bfd_status']
    assert ovsdb.monitored_columns('Interface', columns) == [
        'name', 'type', 'options', 'ofport', 'link_state', 'admin_state', 'error', 'mac_in_use',
        'mtu_request']
    # Open_vSwitch keeps cur_cfg (ovsdbapp waits on it after a commit)
    assert ovsdb.monitored_columns('Open_vSwitch', ['cur_cfg', 'next_cfg', 'statistics']) == [
        'cur_cfg', 'next_cfg']


def test_the_row_views_read_no_unmonitored_column():
    from ansible_collections.cloudstack.ovs.plugins.module_utils.ovsdb_rows import (
        STATUS_KEYS,
        bridge_data,
    )
    assert not set(STATUS_KEYS) & set(ovsdb.UNMONITORED_STATUS['Interface'])
    iface = _Row('Interface', name='t1001-1-2', type='gre', options={'key': '1001'}, ofport=[3],
                 external_ids={}, other_config={}, link_state=['up'], admin_state=['up'],
                 error=[], mac_in_use=['02:00:00:00:00:02'])
    port = _Row('Port', name='t1001-1-2', tag=[], trunks=[], vlan_mode=[], protected=True,
                external_ids={}, other_config={}, interfaces=[iface])
    bridge = _Row('Bridge', name='OVSTunnel1001', datapath_type='netdev', fail_mode=[],
                  stp_enable=False, other_config={}, external_ids={}, ports=[port])
    data = bridge_data(bridge)
    assert data['ports']['t1001-1-2']['interfaces']['t1001-1-2']['ofport'] == 3
    assert data['ports']['t1001-1-2']['protected'] is True


def _gre_switch(columns):
    """A session over one tunnel bridge (a tunnel and the bridge's own port) whose rows hold
    only ``GRE_COLUMNS`` of Port and Interface; the session's ``columns``: ``columns``."""
    from ansible_collections.cloudstack.ovs.plugins.module_utils.gre_names import GRE_COLUMNS
    tunnel = _Row('Interface', GRE_COLUMNS, name='t1001-1-2', type='gre', ofport=[3],
                  options={'key': '1001', 'remote_ip': '192.0.2.12'}, link_state=['up'],
                  error=[])
    local = _Row('Interface', GRE_COLUMNS, name='OVSTunnel1001', type='internal',
                 ofport=[65534], options={}, link_state=['up'], error=[])
    ports = [_Row('Port', GRE_COLUMNS, name=i.name, protected=i is tunnel,
                  external_ids={'cloudstack-ovs-owner': 'gre_network'}, interfaces=[i])
             for i in (tunnel, local)]
    bridge = _Row('Bridge', GRE_COLUMNS, name='OVSTunnel1001', datapath_type='netdev',
                  fail_mode=[], stp_enable=False, rstp_enable=False, controller=[],
                  other_config={}, external_ids={}, ports=ports)
    session = ovsdb.OvsdbSession.__new__(ovsdb.OvsdbSession)
    session.columns = dict(columns)
    session._read_bridges = session._read_ovs = session._read_seqno = None
    session.timeout = 1
    idl = type('Idl', (object,), {'change_seqno': 7})()
    session.connection = type('Connection', (object,), {'lock': threading.Lock(), 'idl': idl})()
    session.api = type('Api', (object,), {'tables': dict(
        Bridge=type('Table', (object,), {'rows': {1: bridge}})(),
        Interface=type('Table', (object,), {'rows': {2: tunnel, 3: local}})())})()
    return session


TUNNEL_PORT = dict(name='t1001-1-2', protected=True,
                   external_ids={'cloudstack-ovs-owner': 'gre_network'},
                   interfaces={'t1001-1-2': dict(
                       name='t1001-1-2', type='gre', ofport=3, link_state='up', error=None,
                       options={'key': '1001', 'remote_ip': '192.0.2.12'})})


def test_a_session_with_columns_monitors_and_views_only_those():
    from ansible_collections.cloudstack.ovs.plugins.module_utils.gre_names import (
        GRE_COLUMNS,
        GRE_INTERFACE_COLUMNS,
    )
    columns = ['name', 'type', 'options', 'ofport', 'link_state', 'admin_state', 'error',
               'mac_in_use', 'external_ids', 'other_config', 'statistics', 'status', 'mtu']
    assert ovsdb.monitored_columns('Interface', columns, GRE_INTERFACE_COLUMNS) == [
        'name', 'type', 'options', 'ofport', 'link_state', 'error']
    # the tables the session names no columns of stay whole
    assert ovsdb.monitored_columns('Bridge', ['name', 'ports', 'status'], None) == [
        'name', 'ports']
    # the views of gre_mesh_info's read (bridge_details) read no column such a session lacks
    found, internal = _gre_switch(GRE_COLUMNS).bridge_details()
    assert internal == set(['OVSTunnel1001'])
    assert found['OVSTunnel1001']['ports']['t1001-1-2'] == TUNNEL_PORT
    # a session that monitors the whole tables cannot be read with these rows
    with pytest.raises(AttributeError, match='Port.tag is not monitored'):
        _gre_switch({}).bridge_details()


def test_a_writer_session_with_columns_plans_checks_and_waits_on_those():
    # gre_network's session: the plan's read, the commit-time check and the wait for the
    # ofports all view the columns it monitors
    from ansible_collections.cloudstack.ovs.plugins.module_utils.gre_names import GRE_COLUMNS
    session = _gre_switch(GRE_COLUMNS)
    assert session.bridges()['OVSTunnel1001']['ports']['t1001-1-2'] == TUNNEL_PORT
    assert session.stale() is None
    session.connection.idl.change_seqno += 1  # something moved: the rows are compared again
    assert session.stale() is None
    session.api.tables['Bridge'].rows[1]._values['ports'][0]._values['protected'] = False
    assert session.stale() == 'the bridges changed since they were read'
    ifaces = session.wait_ofports(['t1001-1-2'])
    assert ifaces == {'t1001-1-2': TUNNEL_PORT['interfaces']['t1001-1-2']}
    with pytest.raises(AttributeError, match='Interface.external_ids is not monitored'):
        _gre_switch({}).wait_ofports(['t1001-1-2'])
