# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Small process helpers shared by the testbed: run a command, wait, stop by pid."""

import os
import signal
import subprocess
import time


class TestbedError(RuntimeError):
    """Something the testbed started did not come up; the message says what and where."""


def run(cmd, check=True, input=None, timeout=60, env=None):
    """Run ``cmd`` (a list); return CompletedProcess with text output."""
    proc = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout,
                          env=env, check=False)
    if check and proc.returncode != 0:
        raise TestbedError('%s failed (rc=%d): %s%s'
                           % (' '.join(cmd), proc.returncode, proc.stderr, proc.stdout))
    return proc


def wait_for(predicate, timeout=20.0, interval=0.05, what='condition'):
    """Poll ``predicate`` until it returns something truthy; raise TestbedError on time-out."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TestbedError('timed out after %ss waiting for %s' % (timeout, what))
        time.sleep(interval)


def read_pid(path):
    try:
        with open(path) as handle:
            return int(handle.read().strip() or 0) or None
    except (OSError, ValueError):
        return None


def pid_alive(pid):
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0): look at its state.
    try:
        with open('/proc/%d/stat' % pid) as handle:
            return handle.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False


def kill_pids(pids, timeout=5.0):
    """SIGTERM the given pids, then SIGKILL what is left after ``timeout``."""
    pids = [p for p in set(pids) if p and p != os.getpid()]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(pid_alive(p) for p in pids):
        _reap()
        time.sleep(0.05)
    for pid in pids:
        if pid_alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    _reap()


def netns_exists(name):
    return os.path.exists('/run/netns/' + name)


def netns_pids(name):
    """Pids of every process in the network namespace ``name``."""
    proc = run(['ip', 'netns', 'pids', name], check=False)
    return [int(p) for p in proc.stdout.split() if p.isdigit()]


def remove_netns(names, pids=()):
    """Kill ``pids`` and every process living in the namespaces ``names``, then delete them."""
    names = [n for n in names if netns_exists(n)]
    all_pids = [p for p in pids if p]
    for name in names:
        all_pids += netns_pids(name)
    kill_pids(all_pids)
    for name in names:
        run(['ip', 'netns', 'del', name], check=False)


def _reap():
    """Collect our own exited children so they do not linger as zombies."""
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
