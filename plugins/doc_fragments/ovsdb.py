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
      - Seconds each wait may take - connecting and reading the current state, taking the lock
        other runs of these modules hold, the commit, ovs-vswitchd applying the commit (O(wait)),
        and each C(ovs-ofctl) call. A stopped or hung daemon fails the module within about this
        time (a few times it at most), naming O(db) or the bridge.
      - When the database does not answer before the commit, the module fails and changes
        nothing. What a failure after the commit means is in C(docs/failure-modes.md).
    type: int
    default: 10
  wait:
    description:
      - After the commit, wait (up to O(timeout)) until ovs-vswitchd has applied it, as
        C(ovs-vsctl) does without C(--no-wait). If it has not, the module fails with
        C(changed=true) and says that the database holds the change.
      - V(false) returns as soon as the database has committed (C(ovs-vsctl --no-wait)); use it
        when ovs-vswitchd is not running yet. M(cloudstack.ovs.gre_network) with C(flows=true)
        still waits for the new tunnels' OpenFlow port numbers, which its flows need.
      - Modules that only read (M(cloudstack.ovs.ovs_info)) ignore it.
    type: bool
    default: true
    version_added: 0.2.0
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
  - All changes of one module call are applied in one OVSDB transaction; when it is not committed
    nothing is changed.
  - Modules that write take the OVSDB lock C(cloudstack_ovs) before they read (not in check mode),
    so two runs against one database run one after the other; the plan is checked against the
    database when it is committed and made again (up to 3 times) when another client changed
    what it was made from.
  - In check mode the current state is read and the changes are computed, but nothing is written.
'''
