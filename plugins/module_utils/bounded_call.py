# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""A library call bounded in time: run it in a thread of its own and stop waiting at a deadline.

For calls that block without a timeout of their own (the OVS library's schema fetch, which
``ovsdb.py`` makes when it connects). Standard library only.
"""

import threading

from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import OvsdbError


def bounded_call(func, timeout, message):
    """``func()`` in a thread of its own; OvsdbError(message) if it has not returned in time.

    What ``func`` raises is raised here. The thread is a daemon: a call that never returns does
    not keep the module alive.
    """
    box = {}

    def target():
        try:
            box['result'] = func()
        except BaseException as exc:  # handed to the caller
            box['error'] = exc

    thread = threading.Thread(target=target, name='ovsdb-bounded')
    thread.daemon = True
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise OvsdbError(message)
    if 'error' in box:
        raise box['error']
    return box.get('result')
