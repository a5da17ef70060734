# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""command_output.run: a command's whole output, whenever it prints it; Ofctl's use of it."""

import signal
import sys
import threading

import pytest

from ansible_collections.cloudstack.ovs.plugins.module_utils import ofctl
from ansible_collections.cloudstack.ovs.plugins.module_utils.command_output import (
    CommandTimeout,
    run,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import OvsdbError

# Prints nothing for longer than run_command's one-second wait, then a table larger than a
# pipe's buffer, and exits: what ovs-ofctl dump-flows does when ovs-vswitchd is slow to answer.
SLOW_DUMP = ('import sys, time; time.sleep(1.2); '
             'sys.stdout.write("".join("priority=%d actions=NORMAL\\n" % i for i in range(5000)))')


def busy(stop):
    while not stop.is_set():
        sum(range(10000))


def test_output_printed_after_a_long_silence_is_read_whole_in_busy_threads():
    # four readers at once beside two busy threads, as gre_network's flow reads run
    stop = threading.Event()
    burners = [threading.Thread(target=busy, args=(stop,)) for _burner in range(2)]
    for thread in burners:
        thread.start()
    results = []
    try:
        readers = [threading.Thread(target=lambda: results.append(
            run([sys.executable, '-c', SLOW_DUMP], timeout=30))) for _reader in range(4)]
        for thread in readers:
            thread.start()
        for thread in readers:
            thread.join()
    finally:
        stop.set()
        for thread in burners:
            thread.join()
    assert len(results) == 4
    for rc, out, err in results:
        assert rc == 0 and err == ''
        lines = out.splitlines()
        assert len(lines) == 5000 and lines[-1] == 'priority=4999 actions=NORMAL'


def test_data_is_the_standard_input_and_rc_and_stderr_are_returned():
    rc, out, err = run([sys.executable, '-c',
                        'import sys; d = sys.stdin.read(); print(d.upper(), end=""); '
                        'sys.stderr.write("warn\\n"); sys.exit(3)'], data='a=1\nb=2\n')
    assert (rc, out, err) == (3, 'A=1\nB=2\n', 'warn\n')


def test_without_data_the_standard_input_is_empty():
    rc, out, _err = run([sys.executable, '-c', 'import sys; print(repr(sys.stdin.read()))'])
    assert rc == 0 and out == "''\n"


def test_a_signal_gives_a_negative_rc():
    rc, _out, _err = run([sys.executable, '-c',
                          'import os, signal; os.kill(os.getpid(), signal.SIGALRM)'])
    assert rc == -signal.SIGALRM


def test_a_command_past_its_timeout_is_killed_and_named():
    with pytest.raises(CommandTimeout, match=r'^%s did not end within 0.3s$'
                       % sys.executable.replace('.', r'\.')):
        run([sys.executable, '-c', 'import time; time.sleep(30)'], timeout=0.3)


class Module(object):
    def get_bin_path(self, name, required=False):
        return '/usr/bin/' + name


def test_ofctl_reports_a_killed_ovs_ofctl_as_no_answer_naming_the_bridge(monkeypatch):
    def killed(argv, data=None, timeout=None):
        assert timeout == 5 + ofctl.GRACE and '--timeout=5' in argv
        raise CommandTimeout('ovs-ofctl did not end within %ss' % timeout)
    monkeypatch.setattr(ofctl, 'run_command', killed)
    with pytest.raises(OvsdbError, match=r'no answer from ovs-vswitchd on bridge OVSTunnel7 '
                       r'\(unix:/run/ovs/OVSTunnel7\.mgmt\) within 5s'):
        ofctl.Ofctl(Module(), '/run/ovs', 5).dump_flows('OVSTunnel7')


def test_ofctl_gives_its_data_to_ovs_ofctl(monkeypatch):
    calls = []

    def ofctl_run(argv, data=None, timeout=None):
        calls.append((argv, data))
        return 0, '', ''
    monkeypatch.setattr(ofctl, 'run_command', ofctl_run)
    tool = ofctl.Ofctl(Module(), '/run/ovs', 5)
    assert tool.run('b', ['replace-flows', 'x', '-'], data='f\n') == (0, '', '')
    assert calls == [(['/usr/bin/ovs-ofctl', '-O', 'OpenFlow14', '--timeout=5', 'replace-flows',
                       'x', '-'], 'f\n')]


def test_ofctl_that_cannot_start_names_the_bridge(monkeypatch):
    def missing(argv, data=None, timeout=None):
        raise OSError(2, 'No such file or directory')
    monkeypatch.setattr(ofctl, 'run_command', missing)
    with pytest.raises(OvsdbError, match=r'^flows: cannot run /usr/bin/ovs-ofctl on bridge b: '):
        ofctl.Ofctl(Module(), '/run/ovs', 5).dump_flows('b')


def _ofctl_answering(monkeypatch, answers):
    """Ofctl whose ovs-ofctl gives ``answers`` (rc, out, err) in turn; the calls and pauses."""
    calls, pauses = [], []

    def ofctl_run(argv, data=None, timeout=None):
        calls.append((argv, data))
        return answers[len(calls) - 1]
    monkeypatch.setattr(ofctl, 'run_command', ofctl_run)
    monkeypatch.setattr(ofctl.time, 'sleep', pauses.append)
    return ofctl.Ofctl(Module(), '/run/ovs', 5), calls, pauses


HELLO_DROPPED = (1, '', 'ovs-ofctl: connecting to unix:/run/ovs/b.mgmt (Broken pipe)\n')


@pytest.mark.parametrize('dropped', [
    HELLO_DROPPED,
    (1, '', 'ovs-ofctl: unix:/run/ovs/b.mgmt: failed to connect to socket (Broken pipe)\n'),
    (1, '', 'ovs-ofctl: connecting to unix:/run/ovs/b.mgmt (Connection reset by peer)\n'),
])
def test_a_connection_dropped_during_the_hello_is_opened_again(monkeypatch, dropped):
    # ovs-vswitchd drops a management connection whose hello is late (a loaded host): nothing
    # was sent, so the same call, its data included, is made again
    tool, calls, pauses = _ofctl_answering(monkeypatch, [dropped, (0, 'flows\n', '')])
    assert tool.run('b', ['replace-flows', 'unix:/run/ovs/b.mgmt', '-'], data='f\n') == (
        0, 'flows\n', '')
    assert len(calls) == 2 and calls[0] == calls[1] and calls[1][1] == 'f\n'
    assert pauses == [ofctl.HELLO_PAUSE]


def test_a_hello_dropped_every_time_ends_with_ovs_ofctl_s_error(monkeypatch):
    tool, calls, pauses = _ofctl_answering(monkeypatch, [HELLO_DROPPED] * ofctl.HELLO_ATTEMPTS)
    assert tool.dump_flows('b') == HELLO_DROPPED
    assert len(calls) == ofctl.HELLO_ATTEMPTS
    assert pauses == [ofctl.HELLO_PAUSE * n for n in range(1, ofctl.HELLO_ATTEMPTS)]


@pytest.mark.parametrize('answer', [
    (1, '', 'ovs-ofctl: unix:/run/ovs/b.mgmt: failed to open socket (Connection refused)\n'),
    (1, '', 'ovs-ofctl: connecting to unix:/run/ovs/b.mgmt (No such file or directory)\n'),
    (1, '', 'ovs-ofctl: b: Broken pipe while reading the flows\n'),
])
def test_other_failures_are_not_tried_again(monkeypatch, answer):
    # no ovs-vswitchd listening, or a failure after the connection was open: once only
    tool, calls, pauses = _ofctl_answering(monkeypatch, [answer])
    assert tool.dump_flows('b') == answer
    assert len(calls) == 1 and pauses == []
