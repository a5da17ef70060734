# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""A command's whole output: read both pipes to their end, then take the exit status.

Not ``AnsibleModule.run_command`` for commands whose output is a reading (``ovs-ofctl
dump-flows``, ``ip -j addr show``): its loop waits on the pipes for one second at a time and
stops as soon as a wait found nothing and the command has exited. A command that printed and
exited between that empty wait and the check is returned with rc 0 and its output unread
(ansible/ansible#51393; ansible-core 2.19 and 2.21 still do it). On a loaded host ovs-ofctl easily
waits more than a second for ovs-vswitchd, and then an unread flow table looks empty: at 128 lab
hosts run at once, ``gre_network`` read 20 of 128 unchanged hosts' full tables as empty and
rewrote them (docs/scale.md). ``subprocess``' communicate reads until both pipes are closed
(ansible-test 2.21's ``ansible-bad-function``, which asks for run_command, is ignored for this
file: tests/sanity/ignore-2.21.txt).

Standard library only.
"""

import os
import subprocess


class CommandTimeout(Exception):
    """The command ran longer than the timeout given to ``run`` and was killed."""


def run(argv, data=None, timeout=None):
    """``(rc, stdout, stderr)`` of ``argv`` as text; ``data`` (text) is its standard input.

    The whole output, however long the command took to print it. rc is negative for a signal,
    as ``subprocess`` gives it. Raises CommandTimeout (the command killed) after ``timeout``
    seconds, OSError when it cannot be started. ``LC_ALL=C`` keeps what it prints parseable.
    """
    env = dict(os.environ, LC_ALL='C')
    try:
        proc = subprocess.run(argv, input=data, stdin=subprocess.DEVNULL if data is None else None,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                              timeout=timeout, encoding='utf-8', errors='surrogateescape',
                              check=False)
    except subprocess.TimeoutExpired:
        raise CommandTimeout('%s did not end within %ss' % (argv[0], timeout))
    return proc.returncode, proc.stdout, proc.stderr
