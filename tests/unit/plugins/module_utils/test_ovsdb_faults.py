# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The OVSDB layer under faults, without OVS: short messages, bounded waits.

The re-plan on conflict and the -vvv detail are plan.run_module's (test_plan.py).

The same behaviour on real daemons (SIGSTOP, two runs at once) is in
tests/system/test_reliability_ovsdb.py.
"""

import os
import socket
import tempfile
import threading

import pytest

from ansible_collections.cloudstack.ovs.plugins.module_utils.bounded_call import bounded_call
from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import OvsdbError
from ansible_collections.cloudstack.ovs.plugins.module_utils.ovsdb import OvsdbSession
from ansible_collections.cloudstack.ovs.plugins.module_utils.ovsdb_ops import summarize_ops


def add_ports(n):
    return [dict(op='add_port', bridge='OVSTunnel1', port='t1-1-%d' % i) for i in range(n)]


def test_summary_names_the_count_and_the_first_three():
    text = summarize_ops(add_ports(5000))
    assert text.startswith('5000 changes (add port t1-1-0 to bridge OVSTunnel1; ')
    assert 't1-1-2 ' in text and 't1-1-3 ' not in text
    assert text.endswith('and 4997 more)')
    assert len(text) < 200


def test_summary_of_one_change():
    assert summarize_ops(add_ports(1)) == '1 change (add port t1-1-0 to bridge OVSTunnel1)'


def test_bounded_returns_raises_and_gives_up():
    assert bounded_call(lambda: 42, 5, 'never') == 42
    with pytest.raises(ZeroDivisionError):
        bounded_call(lambda: 1 // 0, 5, 'never')
    release = threading.Event()
    try:
        with pytest.raises(OvsdbError, match='gave up'):
            bounded_call(release.wait, 0.2, 'gave up')
    finally:
        release.set()


def test_a_socket_that_accepts_and_never_answers_fails_naming_db():
    """What a SIGSTOPped ovsdb-server looks like: the kernel accepts, nobody answers."""
    directory = tempfile.mkdtemp()
    path = os.path.join(directory, 'db.sock')
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(path)
        server.listen(8)
        with pytest.raises(OvsdbError) as info:
            OvsdbSession(db='unix:' + path, timeout=1)
        assert str(info.value).startswith('db: no answer from unix:%s within 1s' % path)
        assert info.value.changed is False
    finally:
        server.close()
        os.unlink(path)
        os.rmdir(directory)
