# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Ansible callback of the lab: records every task result as one JSON line.

Enabled only by ``lab/lab.py`` (ANSIBLE_CALLBACKS_ENABLED=lab_events) next to Ansible's own
output; the lab reads the file to count changes and to show what a repair run fixed.
"""

from __future__ import annotations

DOCUMENTATION = r'''
name: lab_events
type: aggregate
short_description: Write each task result of a lab run to a JSON lines file
description:
  - Writes host, task, module, changed/failed/skipped and the module's C(actions) to the file
    named by E(CLOUDSTACK_OVS_LAB_EVENTS). Used by the cloudstack.ovs lab only.
requirements:
  - CLOUDSTACK_OVS_LAB_EVENTS set in the environment
'''

import json
import os

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'lab_events'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._path = os.environ.get('CLOUDSTACK_OVS_LAB_EVENTS')

    def _write(self, result, status):
        if not self._path:
            return
        res = result._result
        event = dict(host=result._host.get_name(), task=result._task.get_name(),
                     action=result._task.action, status=status,
                     changed=bool(res.get('changed')), actions=res.get('actions') or [],
                     msg=res.get('msg') if status == 'failed' else None)
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
