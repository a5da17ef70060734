# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The OVSDB options every OVSDB module takes (the ``cloudstack.ovs.ovsdb`` doc fragment):
their argument spec, the check of ``db`` and the values the schema allows for the columns
modules set. Standard library only.
"""

from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import ParamError
from ansible_collections.cloudstack.ovs.plugins.module_utils.validate import check_text

DEFAULT_DB = 'unix:/var/run/openvswitch/db.sock'
DATAPATH_TYPES = ('system', 'netdev')
FAIL_MODES = ('standalone', 'secure')


def ovsdb_argument_spec():
    """Argument spec of the options documented in the ``cloudstack.ovs.ovsdb`` fragment."""
    return dict(
        db=dict(type='str', default=DEFAULT_DB),
        timeout=dict(type='int', default=10),
        wait=dict(type='bool', default=True),
        ssl_private_key=dict(type='path'),
        ssl_certificate=dict(type='path'),
        ssl_ca_cert=dict(type='path'),
    )


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
