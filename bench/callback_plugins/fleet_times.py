# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Callback of ``bench/fleet.py``: per host and task, when the controller started it and when the
result came back (wall seconds), appended as JSON lines to $CLOUDSTACK_OVS_FLEET_TIMES."""

DOCUMENTATION = '''
name: fleet_times
type: aggregate
short_description: per-host task times for bench/fleet.py
description: Writes one JSON line per host and task with its start and end time.
requirements: [enabled in the configuration]
'''

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'fleet_times'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._path = os.environ.get('CLOUDSTACK_OVS_FLEET_TIMES')
        self._started = {}

    def v2_runner_on_start(self, host, task):
        self._started[(host.get_name(), task._uuid)] = time.time()

    def _write(self, result, status):
        host, task = result._host.get_name(), result._task
        start = self._started.pop((host, task._uuid), None)
        if not self._path or start is None:
            return
        event = dict(host=host, action=task.action, status=status, start=start, end=time.time(),
                     changed=bool(result._result.get('changed')))
        with open(self._path, 'a') as handle:
            handle.write(json.dumps(event) + '\n')

    def v2_runner_on_ok(self, result):
        self._write(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._write(result, 'failed')

    def v2_runner_on_skipped(self, result):
        self._write(result, 'skipped')

    def v2_runner_on_unreachable(self, result):
        self._write(result, 'unreachable')
