# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Options shared by every module that talks to OVSDB."""


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options:
  db:
    description:
      - OVSDB server to talk to, in OVS connection syntax.
      - C(unix:<path>) for a local socket, C(tcp:<ip>:<port>) or C(ssl:<ip>:<port>) for a remote one.
      - The default is the socket a packaged Open vSwitch listens on, and the one CloudStack's agent uses.
    type: str
    default: unix:/var/run/openvswitch/db.sock
  timeout:
    description:
      - Seconds to wait for the database to answer (connect, read the current state, commit).
      - When the database does not answer in time the module fails, naming O(db), and changes nothing.
    type: int
    default: 10
  ssl_private_key:
    description:
      - Private key file for an C(ssl:) O(db).
    type: path
  ssl_certificate:
    description:
      - Certificate file for an C(ssl:) O(db).
    type: path
  ssl_ca_cert:
    description:
      - CA certificate file for an C(ssl:) O(db).
    type: path
requirements:
  - ovsdbapp (the Python library, on the managed host)
notes:
  - All changes of one module call are applied in one OVSDB transaction; if it fails nothing is changed.
  - In check mode the current state is read and the changes are computed, but nothing is written.
'''
