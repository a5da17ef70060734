# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Ansible callback of the testbed: every task result as one JSON line.

Enabled by ``testbed.ansible_cli.task_events_env`` (the lab, the benchmarks) next to Ansible's own
output: host, task, module, status, changed, the module's ``actions``, the message of a failure,
and when the controller started the task on the host and got its result (wall seconds). The lab
counts changes and shows what a repair run fixed; the benchmarks time the tasks.

A failure under ``ignore_errors`` is ``ignored``, not ``failed``: the play goes on and Ansible's
recap counts it apart too, so a host whose only failure was ignored is not a failed host.
"""

from __future__ import annotations

DOCUMENTATION = r'''
name: task_events
type: aggregate
short_description: Write each task result of a testbed run to a JSON lines file
description:
  - Writes host, task, module, status, changed, the module's C(actions), the message of a
    failure and the start and end time to the file named by E(CLOUDSTACK_OVS_TASK_EVENTS).
    Used by the cloudstack.ovs lab and benchmarks only.
requirements:
  - CLOUDSTACK_OVS_TASK_EVENTS set in the environment
'''

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'task_events'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._path = os.environ.get('CLOUDSTACK_OVS_TASK_EVENTS')
        self._started = {}

    def v2_runner_on_start(self, host, task):
        self._started[(host.get_name(), task._uuid)] = time.time()

    def _write(self, result, status):
        host, task = result._host.get_name(), result._task
        end = time.time()
        # A result without a start event (none known) spans no time.
        start = self._started.pop((host, task._uuid), end)
        if not self._path:
            return
        res = result._result
        event = dict(host=host, task=task.get_name(), action=task.action, status=status,
                     changed=bool(res.get('changed')), actions=res.get('actions') or [],
                     msg=res.get('msg') if status in ('failed', 'ignored') else None,
                     start=start, end=end)
        with open(self._path, 'a') as handle:
            handle.write(json.dumps(event, default=str) + '\n')

    def v2_runner_on_ok(self, result):
        self._write(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._write(result, 'ignored' if ignore_errors else 'failed')

    def v2_runner_on_skipped(self, result):
        self._write(result, 'skipped')

    def v2_runner_on_unreachable(self, result):
        self._write(result, 'unreachable')
