# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The one place that talks to OVSDB (through ovsdbapp): the session.

Modules use it in three steps:

1. ``OvsdbSession(module)`` connects (or fails with a message naming ``db``) and
   ``snapshot()`` returns the current state as plain dicts;
2. pure functions (``ovsdb_ops.py``, ``ovsdb_rows.py`` and the modules' own module_utils, none
   of which imports ovsdbapp) turn that state and the parameters into a list of *ops* — small
   dicts such as
   ``{'op': 'set', 'table': 'Bridge', 'record': 'br0', 'column': 'fail_mode', 'value': 'secure'}``;
3. ``session.apply(ops)`` runs every op in one OVSDB transaction (never in check mode).

Keeping steps 1 and 2 free of side effects is what makes check mode and diff
exact: what check mode reports is what a real run does.

Under faults (see ``docs/failure-modes.md``):

* every wait is bounded by ``timeout``: connecting and reading the database, taking the lock,
  the commit, and ovs-vswitchd applying the commit (``next_cfg`` -> ``cur_cfg``, as ovs-vsctl
  without ``--no-wait``) each get ``timeout`` seconds;
* an error says whether the database took the change: "not committed" (``changed`` false),
  "committed, ovs-vswitchd has not applied it" (``changed`` true) or "outcome unknown" (sent,
  or still being sent, when ``timeout`` ran out: the OVS library keeps private how much of a
  request went out, so a large one cut off is "may have been committed" too);
* writers take the OVSDB lock ``cloudstack_ovs`` before they read, so two runs of these modules
  are serialised; a plan is checked against the database when it is committed (the rows it read
  must be unchanged - read again only when the IDL's ``change_seqno`` says something moved since
  the plan's read - and ovsdbapp's commands ``verify`` the columns they rewrite, as ovs-vsctl
  does). On a conflict nothing is committed and ``plan.run_module`` plans again from a
  fresh read.

Only public names of ovsdbapp and the OVS library are used (``tests/unit/plugins/modules/
test_module_spine.py`` checks it), so that an upgrade of either does not break this file.
"""

import os
import socket
import time
import traceback

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.cloudstack.ovs.plugins.module_utils.bounded_call import bounded_call
from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import (
    ConflictError,
    OvsdbError,
    ParamError,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.ovsdb_ops import (
    describe_op,
    summarize_ops,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.ovsdb_options import (
    DEFAULT_DB,
    validate_db,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.ovsdb_rows import (
    INTERFACE_COLUMNS,
    PORT_COLUMNS,
    bridge_data,
    interface_data,
    open_vswitch_data,
    ovs_view,
    plan_view,
)

OVSDBAPP_IMPORT_ERROR = None
# The library named when the import fails (ovsdbapp, or ovs: the OVS bindings it needs).
OVSDB_MISSING_LIBRARY = 'ovsdbapp'
try:
    from ovs import poller as ovs_poller
    from ovs.db import idl as ovs_idl
    from ovsdbapp.backend.ovs_idl import connection as ovs_connection
    from ovsdbapp.backend.ovs_idl import idlutils
    from ovsdbapp.backend.ovs_idl import transaction as ovs_transaction
    from ovsdbapp.schema.open_vswitch import commands as ovs_commands
    from ovsdbapp.schema.open_vswitch import impl_idl
except ImportError as exc:  # pragma: no cover - exercised through missing_required_lib
    OVSDBAPP_IMPORT_ERROR = traceback.format_exc()
    # ovsdbapp needs the OVS bindings: name the one that is missing.
    OVSDB_MISSING_LIBRARY = 'ovs' if (exc.name or '').partition('.')[0] == 'ovs' else 'ovsdbapp'
else:
    class AddPortWithColumns(ovs_commands.AddPortCommand):
        """ovsdbapp's add_port that also sets columns of the new Port row as it is inserted.

        Setting them with db_set afterwards looks the port up by name, a scan of the Port
        table per port: quadratic for a call that adds thousands of tunnels.
        """

        def __init__(self, api, bridge, port, port_columns, iface_columns):
            # The Interface columns are set here, not passed on: ovsdbapp before 2.2 (Debian
            # 12 ships 2.1) has no interface_attrs in AddPortCommand.
            super().__init__(api, bridge, port, False)
            self.port_columns = port_columns
            self.iface_columns = iface_columns

        def run_idl(self, txn):
            super().run_idl(txn)
            # the inserted row sits in the table under its temporary uuid (ovs.db.idl insert)
            port = self.api.tables['Port'].rows[self.result]
            self.set_columns(port, **self.port_columns)
            self.set_columns(port.interfaces[0], **self.iface_columns)

    class _Commit(ovs_transaction.Transaction):
        """One transaction, run in ovsdbapp's connection thread, that never outlives its deadline.

        Unlike ovsdbapp's own transactions it does not re-run its commands on TRY_AGAIN (they
        were planned from a read that is now stale) and does not wait for ovs-vswitchd; it
        returns ``(outcome, detail)``: ``('committed', next_cfg or None)``, ``('conflict', why)``,
        ``('error', why)`` (nothing committed) or ``('unknown', why)`` (sent, no answer).
        """

        def __init__(self, session, ops, deadline):
            super().__init__(session.api, session.connection, timeout=session.timeout)
            self.session = session
            self.ops = ops
            self.deadline = deadline

        def do_commit(self):
            session, idl = self.session, self.api.idl
            stale = session.stale()
            if stale:
                return 'conflict', stale
            txn = ovs_idl.Transaction(idl)
            txn.expected_ifaces = set()  # ovsdbapp's add_port records its interfaces there
            try:
                ovs_row = list(idl.tables['Open_vSwitch'].rows.values())[0]
                if session.wait:
                    ovs_row.increment('next_cfg')
                session.verify_read(ovs_row, self.ops)
                for op in self.ops:
                    for cmd in session.commands(op):
                        cmd.run_idl(txn)
            except Exception as exc:
                try:
                    txn.abort()
                except Exception:  # pragma: no cover - the OVS library's clean-up
                    pass
                return 'error', str(exc) or type(exc).__name__
            while True:
                status = txn.commit()
                if status != txn.INCOMPLETE:
                    break
                remaining = self.deadline - time.monotonic()
                if remaining <= 0:
                    # Whether all of a large request went out is not known: the OVS library
                    # keeps its send queue private. So it may have been committed.
                    txn.abort()
                    return 'unknown', 'no answer from ovsdb-server within %ss' % session.timeout
                idl.run()
                poll = ovs_poller.Poller()
                idl.wait(poll)
                txn.wait(poll)
                poll.timer_wait(int(remaining * 1000) + 1)
                poll.block()
            if status == txn.SUCCESS:
                return 'committed', txn.get_increment_new_value() if session.wait else None
            if status == txn.UNCHANGED:
                return 'committed', None
            if status == txn.TRY_AGAIN:
                return 'conflict', 'ovsdb-server refused it: what it was planned from has changed'
            if status == txn.NOT_LOCKED:
                return 'error', 'the lock %s was lost' % LOCK_NAME
            return 'error', txn.get_error() if status == txn.ERROR else status

SCHEMA = 'Open_vSwitch'
# Counters ovs-vswitchd rewrites every few seconds; no module reads them, and with thousands of
# interfaces they are most of what a full read of the database has to parse.
UNMONITORED_COLUMNS = ('statistics', 'rstp_statistics')
# The status columns ovs-vswitchd writes (Open_vSwitch's schema: "Status"), per table, that no
# module reads or writes: not monitored either. With 1,016 tunnel interfaces they were about a
# quarter of what the IDL's first copy of the tables cost to parse, and ovs-vswitchd's updates of
# them moved the IDL (its change_seqno) while a plan waited to be committed. Kept: what the readings
# return (ofport, link_state, admin_state, error, mac_in_use; ovsdb_rows.STATUS_KEYS), and
# Open_vSwitch's cur_cfg, which ovsdbapp waits on after a commit.
UNMONITORED_STATUS = {
    'Interface': ('status', 'ifindex', 'link_resets', 'link_speed', 'duplex', 'mtu',
                  'lacp_current', 'bfd_status', 'cfm_fault', 'cfm_fault_status',
                  'cfm_flap_count', 'cfm_health', 'cfm_remote_mpids', 'cfm_remote_opstate'),
    'Port': ('status', 'rstp_status', 'bond_active_slave'),
    'Bridge': ('status', 'rstp_status', 'datapath_id', 'datapath_version'),
}
# The OVSDB lock every writing module takes before it reads: runs of these modules one at a time.
LOCK_NAME = 'cloudstack_ovs'
POLL = 0.05


def monitored_columns(table, columns, only=None):
    """The columns of ``table`` (of the server's schema) the session monitors: all but the
    counters and the unread status columns; with ``only``, of those only these (a session
    whose module reads and writes no more of the table: ``OvsdbSession``'s ``columns``)."""
    skip = UNMONITORED_STATUS.get(table, ())
    return [c for c in columns if c not in UNMONITORED_COLUMNS and c not in skip and
            (only is None or c in only)]


def ovsdb_context(module, lock=True, columns=None):
    """The ``context`` for ``plan.run_module``: a session per attempt, locked unless checking
    (``lock=False``: a module that only reads never takes the lock). The session knows
    whether this run writes (``check_mode``): the planners below ask it, not the module.
    ``columns``: see ``OvsdbSession``."""
    def context():
        checking = module.check_mode
        return OvsdbSession(module, lock=lock and not checking, check_mode=checking,
                            columns=columns)
    return context


def apply_ops(session, plan):
    """The ``apply`` for ``plan.run_module`` of a plan whose ops are OVSDB ops."""
    session.apply(plan.ops)


class OvsdbSession(object):
    """A connection to OVSDB for the length of one module call.

    ``lock=True`` (writers, not in check mode) takes the OVSDB lock ``cloudstack_ovs`` before
    anything is read and holds it until ``close()``. ``columns`` ({table: column names}): of
    these tables the session monitors only these columns, for a module that reads and writes
    no more of them (a column it does not monitor can be neither read from its rows nor
    written); of Port and Interface its views (``bridges``, ``bridge_details``,
    ``wait_ofports``) then hold these columns, which must be among ``PORT_COLUMNS`` and
    ``INTERFACE_COLUMNS``.
    """

    def __init__(self, module=None, db=DEFAULT_DB, timeout=10, ssl_private_key=None,
                 ssl_certificate=None, ssl_ca_cert=None, wait=True, lock=False, check_mode=False,
                 columns=None):
        self.module = module
        self.columns = dict(columns or {})
        # Whether the run only checks (nothing is applied after the plan): given by the context.
        self.check_mode = check_mode
        if OVSDBAPP_IMPORT_ERROR:
            raise OvsdbError(missing_required_lib(OVSDB_MISSING_LIBRARY),
                             detail=OVSDBAPP_IMPORT_ERROR)
        if module is not None:
            params = module.params
            db = params['db']
            timeout = params['timeout']
            wait = params.get('wait', True)
            ssl_private_key = params.get('ssl_private_key')
            ssl_certificate = params.get('ssl_certificate')
            ssl_ca_cert = params.get('ssl_ca_cert')
        if timeout is None or timeout <= 0:
            raise ParamError('timeout: must be a positive number of seconds (got %r)' % (timeout,))
        self.db = db
        self.timeout = timeout
        self.wait = wait is not False
        self.lock_name = LOCK_NAME if lock else None
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
        # ovsdbapp's Connection (its thread keeps the IDL's copy of the tables up to date) and
        # the API of the Open_vSwitch schema over it.
        self.connection = None
        self.api = None
        # What the plan was made from: checked again when the plan is committed.
        self._read_bridges = None
        self._read_ovs = None
        # The IDL's change_seqno at the plan's first read: unchanged at the commit, nothing
        # the plan read has moved (the OVS library counts every change of its copy).
        self._read_seqno = None
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

    def _open_idl(self):
        helper = idlutils.get_schema_helper(self.db, SCHEMA)
        for table, spec in helper.schema_json['tables'].items():
            helper.register_columns(table, monitored_columns(table, spec['columns'],
                                                             self.columns.get(table)))
        idl = ovs_connection.OvsdbIdl(self.db, helper)
        if self.lock_name:
            idl.set_lock(self.lock_name)
        conn = ovs_connection.Connection(idl=idl, timeout=self.timeout)
        self.connection = conn
        # ovsdbapp keeps the connection on the API's class (the first one set stays): a class
        # of the session's own gives a second session (a re-plan) its own connection.
        self.api = type('SessionOvsdbIdl', (impl_idl.OvsdbIdl,), {})(conn)

    def _connect(self):
        self._preflight()
        try:
            # The schema fetch of the OVS library has no timeout of its own: bound it here.
            bounded_call(self._open_idl, self.timeout,
                         'db: no answer from %s within %ss while reading the database '
                         '(is ovsdb-server stopped or overloaded?)' % (self.db, self.timeout))
        except OvsdbError:
            self.close()
            raise
        except Exception as exc:  # the library raises bare Exception / TimeoutException
            self.close()
            raise OvsdbError('db: cannot read the Open_vSwitch database at %s within %ss: %s'
                             % (self.db, self.timeout, str(exc) or type(exc).__name__))
        self._wait_for_dump()
        if self.lock_name:
            self._take_lock()

    def _wait_for_dump(self):
        """Wait until the first copy of the tables has arrived.

        ovsdbapp before 3.0 (Debian 12 ships 2.1) returns from the connection's start once the
        IDL changed at all, a lock reply included, before the monitor's first dump: rows read
        then are missing. The OVS library's IDL says when it is monitoring."""
        idl = self.connection.idl
        monitoring = getattr(idl, 'IDL_S_MONITORING', None)
        if monitoring is None:  # pragma: no cover - an OVS library without the state machine
            return
        deadline = time.monotonic() + self.timeout
        while idl.state != monitoring:
            if time.monotonic() >= deadline:
                self.close()
                raise OvsdbError('db: no answer from %s within %ss while reading the database '
                                 '(is ovsdb-server stopped or overloaded?)'
                                 % (self.db, self.timeout))
            time.sleep(POLL)

    def _take_lock(self):
        idl = self.connection.idl
        deadline = time.monotonic() + self.timeout
        while not idl.has_lock:
            if time.monotonic() >= deadline:
                self.close()
                raise OvsdbError(
                    'db: another run of a cloudstack.ovs module holds the lock %s on %s; '
                    'waited %ss, nothing was changed' % (LOCK_NAME, self.db, self.timeout))
            time.sleep(POLL)

    def close(self):
        if self.connection is not None:
            try:
                self.connection.stop(timeout=1)
            except Exception:
                pass
            self.connection = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- reading

    @property
    def port_columns(self):
        """The columns of the Port views (``PORT_COLUMNS`` unless ``columns`` names fewer)."""
        return tuple(self.columns.get('Port', PORT_COLUMNS))

    @property
    def interface_columns(self):
        """The columns of the Interface views (``INTERFACE_COLUMNS`` unless fewer)."""
        return tuple(self.columns.get('Interface', INTERFACE_COLUMNS))

    def _rows(self, table):
        return list(self.api.tables[table].rows.values())

    def _open_vswitch(self):
        rows = self._rows('Open_vSwitch')
        if not rows:
            raise OvsdbError('db: %s has no Open_vSwitch row (run "ovs-vsctl init")' % self.db)
        return open_vswitch_data(rows[0])

    def _bridges(self):
        port_columns, interface_columns = self.port_columns, self.interface_columns
        return dict((row.name, bridge_data(row, port_columns, interface_columns))
                    for row in self._rows('Bridge'))

    def _seen(self):
        """Note the IDL's change_seqno of a read (the first one counts). Under the lock."""
        if self._read_seqno is None:
            self._read_seqno = self.connection.idl.change_seqno

    def open_vswitch(self):
        # Read under the connection's lock: the connection thread does not update rows meanwhile.
        with self.connection.lock:
            data = self._open_vswitch()
            self._seen()
        self._read_ovs = ovs_view(data)
        return data

    def bridges(self):
        """Every bridge, by name, as plain dicts."""
        with self.connection.lock:
            data = self._bridges()
            self._seen()
        self._read_bridges = plan_view(data)
        return data

    def bridge_details(self):
        """``(bridges, internal)``: every bridge as ``bridges()`` gives it, with
        ``rstp_enable`` and ``controllers`` (their targets), and the names of the internal
        interfaces (the bridges' own devices). For a reader: no plan is checked against it."""
        port_columns, interface_columns = self.port_columns, self.interface_columns
        with self.connection.lock:
            bridges = {}
            for row in self._rows('Bridge'):
                data = bridges[row.name] = bridge_data(row, port_columns, interface_columns)
                data['rstp_enable'] = bool(row.rstp_enable)
                data['controllers'] = sorted(c.target for c in row.controller)
            internal = set(i.name for i in self._rows('Interface') if i.type == 'internal')
        return bridges, internal

    def snapshot(self):
        with self.connection.lock:
            ovs, bridges = self._open_vswitch(), self._bridges()
            self._seen()
        self._read_ovs, self._read_bridges = ovs_view(ovs), plan_view(bridges)
        return dict(open_vswitch=ovs, bridges=bridges)

    def unchanged_since_read(self):
        """True when the IDL has not changed since the plan's first read (its change_seqno):
        then what the plan read is what is there, without reading it all again."""
        return (self._read_seqno is not None
                and self.connection.idl.change_seqno == self._read_seqno)

    def stale(self):
        """Why the plan is stale (the rows it read changed since), or None. Run in the
        connection's thread (the commit), where the IDL does not change meanwhile."""
        if self.unchanged_since_read():
            return None
        if self._read_ovs is not None and ovs_view(self._open_vswitch()) != self._read_ovs:
            return 'the Open_vSwitch row changed since it was read'
        if self._read_bridges is not None and plan_view(self._bridges()) != self._read_bridges:
            return 'the bridges changed since they were read'
        return None

    def verify_read(self, ovs_row, ops):
        """Ask ovsdb-server to check what the plan read of the rows it changes (``verify``)."""
        if self._read_bridges is not None:
            ovs_row.verify('bridges')
        names = set(op['bridge'] for op in ops if 'bridge' in op)
        names.update(op['record'] for op in ops if op.get('table') == 'Bridge')
        for row in self._rows('Bridge'):
            if row.name in names:
                for column in ('ports', 'other_config', 'external_ids', 'datapath_type'):
                    row.verify(column)
        if self._read_ovs is not None:
            for column in ('other_config', 'external_ids'):
                ovs_row.verify(column)

    # -- writing

    def commands(self, op):
        """The ovsdbapp commands of one op."""
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
        """Run all ops in one transaction; all or nothing. Then, unless ``wait`` is false,
        wait (up to ``timeout``) until ovs-vswitchd has applied it.

        Raises ConflictError (nothing committed; plan again), OvsdbError with ``changed``
        false (not committed), or OvsdbError with ``changed`` true (committed or maybe
        committed, not confirmed).
        """
        if not ops:
            return
        what = summarize_ops(ops)
        detail = 'all changes:\n' + '\n'.join(describe_op(op) for op in ops)
        txn = _Commit(self, ops, time.monotonic() + self.timeout)
        try:
            # The transaction keeps its own deadline; the margin is for the thread's hand-over.
            self.connection.queue_txn(txn)
            result = txn.results.get(timeout=self.timeout + 5)
        except Exception:
            result = 'unknown', 'no answer from ovsdb-server within %ss' % self.timeout
        if isinstance(result, idlutils.ExceptionResult):  # pragma: no cover - a bug of ours
            result = 'error', str(result.ex) or type(result.ex).__name__
        outcome, why = result
        if outcome == 'conflict':
            raise ConflictError('db: the transaction on %s changed nothing: %s; it held %s'
                                % (self.db, why, what), detail=detail)
        if outcome == 'error':
            raise OvsdbError('db: the transaction on %s failed and changed nothing: %s; '
                             'it held %s' % (self.db, why, what), detail=detail)
        if outcome == 'unknown':
            raise OvsdbError(
                'db: %s sent to %s, but %s: it may have been committed (or will be, when '
                'ovsdb-server resumes). Re-run to see and converge the state (a large change '
                'needs a larger timeout).'
                % (what, self.db, why), changed=True, detail=detail)
        if why is not None:
            self._wait_applied(why, what, detail)

    def _wait_applied(self, next_cfg, what, detail):
        """Wait until ovs-vswitchd reports ``cur_cfg >= next_cfg`` (ovs-vsctl's wait)."""
        deadline = time.monotonic() + self.timeout
        cur_cfg = None
        while time.monotonic() < deadline:
            rows = self._rows('Open_vSwitch')
            cur_cfg = rows[0].cur_cfg if rows else None
            if cur_cfg is not None and cur_cfg >= next_cfg:
                return
            time.sleep(POLL)
        raise OvsdbError(
            'db: %s committed to %s, but ovs-vswitchd has not applied it within %ss '
            '(cur_cfg %s, next_cfg %s; is ovs-vswitchd running?). The database holds the new '
            'state and ovs-vswitchd applies it when it catches up; a re-run changes nothing '
            'more and confirms it.' % (what, self.db, self.timeout, cur_cfg, next_cfg),
            changed=True, detail=detail)

    def wait_ofports(self, names, timeout=None):
        """Wait until ovs-vswitchd has given the named interfaces an ofport.

        Returns the interfaces (name -> plain dict) as they are then; interfaces that
        got no ofport in time are returned as they are (ofport None or -1).
        """
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        names = set(names)
        columns = self.interface_columns
        while True:
            # Read under the connection's lock, like bridges(); its thread keeps the rows up
            # to date between the looks.
            with self.connection.lock:
                found = dict((row.name, interface_data(row, columns))
                             for row in self._rows('Interface') if row.name in names)
            pending = [n for n in names if not found.get(n, {}).get('ofport')]
            if not pending or time.monotonic() >= deadline:
                return found
            time.sleep(POLL)
