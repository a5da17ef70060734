# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The reading and writing of ``gre_network``: its ``plan`` and ``apply`` for ``plan.run_module``.

``plan`` reads the bridges (an ``OvsdbSession``) and the installed flow tables (``Flows``) and
hands them to the pure planner (``gre.plan_mesh`` and ``gre.settle``). ``apply`` commits the
ovsdb ops in one transaction, waits for the new tunnels' ofports, refloods the bridges whose
STP it turned off, and writes the flow tables that differ (``ovs-ofctl --bundle
replace-flows``, each at once).

The flows of a bridge refer to its tunnels by ofport, which ovs-vswitchd assigns only after the
commit. So in a run that writes and whose database changes, the flows are compared after the
commit, with the ofports and the flow tables as they are then (``settle`` again), and not read
before it: the plan already has changes, and a stopped ovs-vswitchd then fails the run after
the database took the change - reported ``changed``, "a re-run writes them" - as it always
has. Check mode, and a run with no database change, read and compare the flows in ``plan``.
"""

from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import OvsdbError
from ansible_collections.cloudstack.ovs.plugins.module_utils.gre import (
    interfaces,
    plan_mesh,
    settle,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.gre_flows import Flows
from ansible_collections.cloudstack.ovs.plugins.module_utils.gre_names import port_name


class GreNetwork(object):
    """``plan`` and ``apply`` of one ``gre_network`` call (``module`` gives ovs-ofctl)."""

    def __init__(self, module):
        self.module = module
        self._flow_tool = None

    def flows(self, request):
        """The ``Flows`` of this call, made once (it finds ovs-ofctl)."""
        if self._flow_tool is None:
            self._flow_tool = Flows(self.module, request['rundir'], request['timeout'])
        return self._flow_tool

    def plan(self, session, request):
        bridges = session.bridges()
        planned = plan_mesh(bridges, request)
        installed = None
        if request['flows']:
            flows = self.flows(request)
            # Read now unless apply runs after the plan: see the file's docstring.
            if session.check_mode or not planned.db_ops:
                installed = flows.dump_all(planned.existing)
        return settle(planned, interfaces(bridges), installed)

    def apply(self, session, planned):
        request = planned.request
        committed = False
        try:
            if planned.db_ops:
                try:
                    session.apply(planned.db_ops)
                except OvsdbError as exc:
                    if exc.changed and request['flows']:
                        exc.args = (str(exc) + ' The flows were not written; a re-run writes '
                                    'them.',)
                    raise
                committed = True
                if request['state'] == 'present':
                    self._after_commit(session, planned)
            for table in planned.tables:
                missing = [t for t in table['tunnels'] if not t['ofport'] or t['ofport'] < 0]
                if missing:
                    raise OvsdbError(
                        'peers: ovs-vswitchd gave tunnel port %s no ofport within %ss '
                        '(error: %s); the flows of %s were not changed'
                        % (missing[0]['name'], request['timeout'], missing[0]['error'],
                           table['bridge']))
                if table['differs']:
                    self.flows(request).replace(table['bridge'], table['wanted'])
        except OvsdbError as exc:
            # After the commit, a failure (no ofport, ovs-ofctl) leaves the database changed.
            exc.changed = exc.changed or committed
            raise
        # The plan settled after the commit: the tunnels' ofports and link states, and the
        # flow counts, as they are now.
        return planned

    def _after_commit(self, session, planned):
        """Wait for the ofports, reflood where STP went off, compare the flows again."""
        request = planned.request
        names = []
        for net in request['networks']:
            names.append(net['bridge'])
            names.extend(port_name(net['key'], request['host_id'], peer['host_id'])
                         for peer in net['peers'])
        ifaces = session.wait_ofports(names)
        for op in planned.db_ops:
            if op.get('column') == 'stp_enable':
                self.flows(request).reflood(op['record'])
        installed = None
        if request['flows']:
            installed = self.flows(request).dump_all(planned.existing)
        settle(planned, ifaces, installed)
