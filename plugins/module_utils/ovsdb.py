# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The one place that talks to OVSDB (through ovsdbapp).

Modules use it in three steps:

1. ``OvsdbSession(module)`` connects (or fails with a message naming ``db``) and
   ``snapshot()`` returns the current state as plain dicts;
2. pure functions (here and in the modules' own module_utils) turn that state and
   the parameters into a list of *ops* — small dicts such as
   ``{'op': 'set', 'table': 'Bridge', 'record': 'br0', 'column': 'fail_mode', 'value': 'secure'}``;
3. ``session.apply(ops)`` runs every op in one OVSDB transaction (never in check mode).

Keeping steps 1 and 2 free of side effects is what makes check mode and diff
exact: what check mode reports is what a real run does.
"""

import os
import socket
import time
import traceback

from ansible.module_utils.basic import missing_required_lib

# Parameter checks live in validate.py; imported here too, where modules have always found them.
# pylint: disable-next=unused-import
from ansible_collections.cloudstack.ovs.plugins.module_utils.validate import (  # noqa: F401
    IFNAME_MAX,
    ParamError,
    check_text,
    normalize_map,
    ovs_str,
    validate_ifname,
)

OVSDBAPP_IMPORT_ERROR = None
try:
    from ovsdbapp.backend.ovs_idl import connection as ovs_connection
    from ovsdbapp.backend.ovs_idl import idlutils
    from ovsdbapp.schema.open_vswitch import commands as ovs_commands
    from ovsdbapp.schema.open_vswitch import impl_idl
except ImportError:  # pragma: no cover - exercised through missing_required_lib
    OVSDBAPP_IMPORT_ERROR = traceback.format_exc()
else:
    class AddPortWithColumns(ovs_commands.AddPortCommand):
        """ovsdbapp's add_port that also sets columns of the new Port row as it is inserted.

        Setting them with db_set afterwards looks the port up by name, a scan of the Port
        table per port: quadratic for a call that adds thousands of tunnels.
        """

        def __init__(self, api, bridge, port, port_columns, iface_columns):
            super().__init__(api, bridge, port, False, **iface_columns)
            self.port_columns = port_columns

        def run_idl(self, txn):
            super().run_idl(txn)
            # the inserted row sits in the table under its temporary uuid (ovs.db.idl insert)
            self.set_columns(self.api.tables['Port'].rows[self.result], **self.port_columns)

DEFAULT_DB = 'unix:/var/run/openvswitch/db.sock'
SCHEMA = 'Open_vSwitch'
DATAPATH_TYPES = ('system', 'netdev')
FAIL_MODES = ('standalone', 'secure')
# Counters ovs-vswitchd rewrites every few seconds; no module reads them, and with thousands of
# interfaces they are most of what a full read of the database has to parse.
UNMONITORED_COLUMNS = ('statistics', 'rstp_statistics')


def ovsdb_argument_spec():
    """Argument spec of the options documented in the ``cloudstack.ovs.ovsdb`` fragment."""
    return dict(
        db=dict(type='str', default=DEFAULT_DB),
        timeout=dict(type='int', default=10),
        ssl_private_key=dict(type='path'),
        ssl_certificate=dict(type='path'),
        ssl_ca_cert=dict(type='path'),
    )


class OvsdbError(Exception):
    """A failure talking to OVSDB; the message is meant for the operator."""


# ---------------------------------------------------------------- validation

def validate_choice(field, value, choices):
    if value is not None and value not in choices:
        raise ParamError('%s: %r is not one of %s' % (field, value, ', '.join(choices)))
    return value


def validate_db(db):
    """Check the syntax of an OVS connection string; return (kind, target)."""
    if not isinstance(db, str) or ':' not in db:
        raise ParamError("db: %r is not an OVSDB connection string "
                         "(unix:<path>, tcp:<ip>:<port> or ssl:<ip>:<port>)" % (db,))
    check_text('db', db)
    kind, _sep, rest = db.partition(':')
    if kind == 'unix':
        if not rest:
            raise ParamError('db: %r names no socket path' % (db,))
        return kind, rest
    if kind in ('tcp', 'ssl'):
        host, sep, port = rest.rpartition(':')
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ParamError('db: %r needs the form %s:<ip>:<port>' % (db, kind))
        return kind, (host.strip('[]'), int(port))
    raise ParamError("db: %r uses %r; only unix:, tcp: and ssl: are supported" % (db, kind))


# ---------------------------------------------------------------- pure planning helpers

def plan_map(current, desired, purge=False):
    """Work out how a map column has to change.

    ``desired`` maps keys to strings, or to ``None`` for "remove this key".
    Keys not named are kept unless ``purge``.
    Returns ``(after, set_keys, removed_keys)``: the resulting map, the keys to
    write (with their values) and the keys to delete.
    """
    current = dict(current or {})
    desired = desired or {}
    to_set = {}
    to_remove = []
    for key, val in desired.items():
        if val is None:
            if key in current:
                to_remove.append(key)
        elif current.get(key) != val:
            to_set[key] = val
    if purge:
        for key in current:
            if key not in desired and key not in to_remove:
                to_remove.append(key)
    after = dict(current)
    after.update(to_set)
    for key in to_remove:
        after.pop(key, None)
    return after, to_set, sorted(to_remove)


def map_ops(table, record, column, to_set, to_remove):
    """Ops that change only the named keys of a map column."""
    ops = []
    if to_set:
        ops.append(dict(op='set', table=table, record=record, column=column, value=dict(to_set)))
    if to_remove:
        ops.append(dict(op='remove_keys', table=table, record=record, column=column,
                        keys=list(to_remove)))
    return ops


def describe_op(op):
    """One line per op for the ``actions`` a module returns."""
    kind = op['op']
    if kind == 'add_bridge':
        return 'add bridge %s' % op['bridge']
    if kind == 'del_bridge':
        return 'delete bridge %s' % op['bridge']
    if kind == 'add_port':
        return 'add port %s to bridge %s' % (op['port'], op['bridge'])
    if kind == 'del_port':
        return 'delete port %s from bridge %s' % (op['port'], op['bridge'])
    if kind == 'set':
        value = op['value']
        if isinstance(value, dict):
            value = ', '.join('%s=%s' % kv for kv in sorted(value.items()))
        return 'set %s %s %s: %s' % (op['table'], op['record'], op['column'], value)
    if kind == 'remove_keys':
        return 'remove %s %s %s keys: %s' % (op['table'], op['record'], op['column'],
                                             ', '.join(op['keys']))
    if kind == 'clear':
        return 'clear %s %s %s' % (op['table'], op['record'], op['column'])
    raise ValueError('unknown op %r' % (kind,))


# ---------------------------------------------------------------- reading rows

def _opt(value):
    """Optional OVSDB columns come back as lists of zero or one element."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _interface_data(row):
    return dict(
        name=row.name,
        type=row.type or 'system',
        options=dict(row.options),
        ofport=_opt(row.ofport),
        external_ids=dict(row.external_ids),
        other_config=dict(row.other_config),
        link_state=_opt(row.link_state),
        admin_state=_opt(row.admin_state),
        error=_opt(row.error),
        mac_in_use=_opt(row.mac_in_use),
    )


def _port_data(row):
    tag = _opt(row.tag)
    return dict(
        name=row.name,
        tag=tag,
        trunks=sorted(row.trunks),
        vlan_mode=_opt(row.vlan_mode),
        protected=bool(getattr(row, 'protected', False)),
        external_ids=dict(row.external_ids),
        other_config=dict(row.other_config),
        interfaces=dict((i.name, _interface_data(i)) for i in row.interfaces),
    )


def bridge_data(row):
    """Plain-dict view of a Bridge row with its ports and interfaces."""
    return dict(
        name=row.name,
        datapath_type=row.datapath_type or 'system',
        fail_mode=_opt(row.fail_mode),
        stp_enable=bool(row.stp_enable),
        other_config=dict(row.other_config),
        external_ids=dict(row.external_ids),
        ports=dict((p.name, _port_data(p)) for p in row.ports),
    )


def open_vswitch_data(row):
    """Plain-dict view of the single Open_vSwitch row."""
    dpdk_initialized = getattr(row, 'dpdk_initialized', False)
    return dict(
        ovs_version=_opt(row.ovs_version),
        db_version=_opt(row.db_version),
        system_type=_opt(row.system_type),
        system_version=_opt(row.system_version),
        datapath_types=sorted(row.datapath_types),
        iface_types=sorted(row.iface_types),
        dpdk_initialized=bool(dpdk_initialized),
        dpdk_version=_opt(getattr(row, 'dpdk_version', None)),
        other_config=dict(row.other_config),
        external_ids=dict(row.external_ids),
    )


# ---------------------------------------------------------------- the session

class OvsdbSession(object):
    """A connection to OVSDB for the length of one module call."""

    def __init__(self, module=None, db=DEFAULT_DB, timeout=10, ssl_private_key=None,
                 ssl_certificate=None, ssl_ca_cert=None):
        if module is not None:
            if OVSDBAPP_IMPORT_ERROR:
                module.fail_json(msg=missing_required_lib('ovsdbapp'),
                                 exception=OVSDBAPP_IMPORT_ERROR)
            params = module.params
            db = params['db']
            timeout = params['timeout']
            ssl_private_key = params.get('ssl_private_key')
            ssl_certificate = params.get('ssl_certificate')
            ssl_ca_cert = params.get('ssl_ca_cert')
        elif OVSDBAPP_IMPORT_ERROR:
            raise OvsdbError(missing_required_lib('ovsdbapp'))
        if timeout is None or timeout <= 0:
            raise ParamError('timeout: must be a positive number of seconds (got %r)' % (timeout,))
        self.db = db
        self.timeout = timeout
        self._kind, self._target = validate_db(db)
        if self._kind == 'ssl':
            missing = [n for n, v in (('ssl_private_key', ssl_private_key),
                                      ('ssl_certificate', ssl_certificate),
                                      ('ssl_ca_cert', ssl_ca_cert)) if not v]
            if missing:
                raise ParamError('db: %s needs %s' % (db, ', '.join(missing)))
            from ovs import stream as ovs_stream
            ovs_stream.Stream.ssl_set_private_key_file(ssl_private_key)
            ovs_stream.Stream.ssl_set_certificate_file(ssl_certificate)
            ovs_stream.Stream.ssl_set_ca_cert_file(ssl_ca_cert)
        self._conn = None
        self.api = None
        self._connect()

    def _preflight(self):
        """Fail fast, naming the socket, before the OVS library's blocking connect."""
        if self._kind == 'unix':
            path = self._target
            if not os.path.exists(path):
                raise OvsdbError('db: cannot connect to %s: no such socket %s '
                                 '(is ovsdb-server running?)' % (self.db, path))
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            target = path
        else:
            host, port = self._target
            family = socket.AF_INET6 if ':' in host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            target = (host, port)
        sock.settimeout(self.timeout)
        try:
            sock.connect(target)
        except socket.timeout:
            raise OvsdbError('db: no answer from %s within %ss' % (self.db, self.timeout))
        except OSError as exc:
            raise OvsdbError('db: cannot connect to %s: %s' % (self.db, exc.strerror or exc))
        finally:
            sock.close()

    def _connect(self):
        self._preflight()
        try:
            helper = idlutils.get_schema_helper(self.db, SCHEMA)
            for table, spec in helper.schema_json['tables'].items():
                helper.register_columns(table, [c for c in spec['columns']
                                                if c not in UNMONITORED_COLUMNS])
            idl = ovs_connection.OvsdbIdl(self.db, helper)
            self._conn = ovs_connection.Connection(idl=idl, timeout=self.timeout)
            self.api = impl_idl.OvsdbIdl(self._conn)
        except Exception as exc:  # the library raises bare Exception / TimeoutException
            self.close()
            raise OvsdbError('db: cannot read the Open_vSwitch database at %s within %ss: %s'
                             % (self.db, self.timeout, exc or type(exc).__name__))

    def close(self):
        if self._conn is not None:
            try:
                self._conn.stop(timeout=1)
            except Exception:
                pass
            self._conn = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- reading

    def _rows(self, table):
        return list(self.api.tables[table].rows.values())

    def open_vswitch(self):
        rows = self._rows('Open_vSwitch')
        if not rows:
            raise OvsdbError('db: %s has no Open_vSwitch row (run "ovs-vsctl init")' % self.db)
        return open_vswitch_data(rows[0])

    def bridges(self):
        """Every bridge, by name, as plain dicts."""
        return dict((row.name, bridge_data(row)) for row in self._rows('Bridge'))

    def snapshot(self):
        return dict(open_vswitch=self.open_vswitch(), bridges=self.bridges())

    # -- writing

    def _command(self, op):
        api = self.api
        kind = op['op']
        if kind == 'add_bridge':
            return [api.add_br(op['bridge'], may_exist=False,
                               datapath_type=op.get('datapath_type') or '')]
        if kind == 'del_bridge':
            return [api.del_br(op['bridge'], if_exists=False)]
        if kind == 'add_port':
            # Port and Interface columns are set on the rows as they are inserted.
            return [AddPortWithColumns(api, op['bridge'], op['port'],
                                       op.get('port_columns') or {},
                                       op.get('iface_columns') or {})]
        if kind == 'del_port':
            return [api.del_port(op['port'], bridge=op['bridge'], if_exists=False)]
        if kind == 'set':
            return [api.db_set(op['table'], op['record'], (op['column'], op['value']))]
        if kind == 'remove_keys':
            return [api.db_remove(op['table'], op['record'], op['column'], *op['keys'])]
        if kind == 'clear':
            return [api.db_clear(op['table'], op['record'], op['column'])]
        raise ValueError('unknown op %r' % (kind,))

    def apply(self, ops):
        """Run all ops in one transaction; all or nothing."""
        if not ops:
            return
        try:
            with self.api.transaction(check_error=True) as txn:
                for op in ops:
                    for cmd in self._command(op):
                        txn.add(cmd)
        except Exception as exc:
            raise OvsdbError('db: the transaction on %s failed and changed nothing: %s'
                             % (self.db, exc or type(exc).__name__))

    def wait_ofports(self, names, timeout=None):
        """Wait until ovs-vswitchd has given the named interfaces an ofport.

        Returns the interfaces (name -> plain dict) as they are then; interfaces that
        got no ofport in time are returned as they are (ofport None or -1).
        """
        deadline = time.time() + (timeout if timeout is not None else self.timeout)
        names = set(names)
        while True:
            found = {}
            for row in self._rows('Interface'):
                if row.name in names:
                    found[row.name] = _interface_data(row)
            pending = [n for n in names if not found.get(n, {}).get('ofport')]
            if not pending or time.time() >= deadline:
                return found
            # The connection's own thread keeps the rows up to date; just look again.
            time.sleep(0.05)


def run_guarded(module, func):
    """Call ``func()``; turn our own exceptions into ``fail_json`` with their message."""
    try:
        return func()
    except (ParamError, OvsdbError) as exc:
        module.fail_json(msg=str(exc))
