# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""What CloudStack's KVM agent reads on the switch, as pure functions.

The agent decides from shell output, not from OVSDB values (see docs/gre_network.md and
``../shared/cloudstack-agent.md``): it runs ``ovs-vsctl get bridge <br>
other_config:ovs-host-setup``, trims the first line, splits it on ``,`` and calls the bridge set
up when one piece equals the host id.  ``ovs-vsctl`` prints a string the way OVSDB's text
format does: in double quotes unless it looks like an identifier, so the first and last pieces
of ``"5,-1"`` carry a quote.  These functions reproduce that, so the planner can predict the
agent's answer and the tests can check it against the real ``ovs-vsctl``.
"""

import re

# OVSDB's text format leaves a string bare only when it is an identifier: a letter or '_'
# first, then letters, digits, '_', '-' or '.'; never for "true"/"false" or a UUID
# (ovsdb-data.c, string_needs_quotes). So "OVSTunnel1001" and "csdpdk-3" print bare, while a
# value that starts with a digit or '-' ("5", "5,-1", "-1") prints in quotes. Checked against
# the real ovs-vsctl in tests/system/test_agent_coexistence.py.
_BARE_STRING = re.compile(r'^[A-Za-z_][A-Za-z0-9_.-]*$')
_UUID = re.compile(r'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-'
                   r'[0-9a-fA-F]{12}$')


def ovs_vsctl_string(value):
    """``value`` as ``ovs-vsctl get`` prints a string: bare or JSON-style double-quoted."""
    if _BARE_STRING.match(value) and value not in ('true', 'false') and not _UUID.match(value):
        return value
    escaped = value.replace('\\', '\\\\').replace('"', '\\"')
    return '"%s"' % escaped


def agent_sees_setup(printed, host_id):
    """The agent's own test (``configureTunnelNetwork``) on the printed ``ovs-host-setup``.

    ``printed`` is the first line of ``ovs-vsctl get`` output, or None when the command failed
    (no such key): then the agent sets the bridge up again.
    """
    if printed is None:
        return False
    line = printed.strip().splitlines()[0] if printed.strip() else ''
    if not line:
        return False
    return str(host_id) in line.split(',')


def agent_considers_configured(stored_value, host_id):
    """True when the agent, reading the stored ``ovs-host-setup`` value, will not re-run
    ``setup_ovs_bridge`` on this host (which would turn STP on and prepend the id again)."""
    if stored_value is None:
        return False
    return agent_sees_setup(ovs_vsctl_string(stored_value), host_id)
