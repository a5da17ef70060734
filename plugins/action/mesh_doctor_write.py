# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Action of ``cloudstack.ovs.mesh_doctor_write`` (documented in plugins/modules/): the mesh
doctor's zone report computed and written on the control node, in the controller's own process.

One task instead of a set_fact, a directory, three copies, a ``dot`` command, the findings and the
verdict: each copy, the directory and ``dot`` were a module process of their own on the control
node, each task a round of the play, and together they cost the doctor more than reading every
host (bench/mesh_doctor.py).
"""

import json
import os
import shutil
import subprocess

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.cloudstack.ovs.plugins.filter.mesh_doctor import mesh_doctor_report
from ansible_collections.cloudstack.ovs.plugins.module_utils.properties_file import (
    discard_temp,
    fsync_directory,
    write_temp,
)

ARGUMENT_SPEC = dict(
    hosts=dict(type='list', elements='dict', required=True),
    dest=dict(type='path', required=True),
    fail_on=dict(type='str', default='error'),
    dot_timeout=dict(type='int', default=60),
)
FAIL_ON = ('error', 'warning', 'never')
# what report.json leaves out: the Markdown and the picture have files of their own
NOT_IN_JSON = ('markdown', 'dot')

display = Display()


def write_file(path, content):
    """Write ``content`` to ``path`` when it differs; True when the file changed."""
    try:
        with open(path) as handle:
            if handle.read() == content:
                return False
    except (IOError, OSError):
        pass
    # A temporary file of its own next to it (two runs never share one), renamed over it.
    fd, tmp = write_temp(path, content, encoding='utf-8')
    try:
        os.fchmod(fd, 0o644)
        os.replace(tmp, path)
    except BaseException:
        discard_temp(fd, tmp)
        raise
    os.close(fd)
    fsync_directory(os.path.dirname(os.path.abspath(path)))
    return True


def failing(report, fail_on):
    """Whether the run fails: on errors (``error``), on any finding (``warning``), never."""
    if fail_on == 'never':
        return False
    if fail_on == 'warning':
        return bool(report['findings'])
    return not report['clean']


def render_svg(dot_file, svg_file, timeout):
    """mesh.svg from mesh.dot with Graphviz' dot, bounded; (written, error)."""
    binary = shutil.which('dot')
    if binary is None:
        return False, 'Graphviz dot is not installed on the control node'
    try:
        proc = subprocess.run([binary, '-Tsvg', '-o', svg_file, dot_file], capture_output=True,
                              text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return False, 'dot did not finish within %ss' % timeout
    if proc.returncode != 0:
        return False, 'dot failed (rc=%d): %s' % (proc.returncode, proc.stderr.strip())
    return True, None


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        dest = args['dest']
        if args['fail_on'] not in FAIL_ON:
            raise AnsibleActionFail('fail_on: must be error, warning or never (got %r)'
                                    % args['fail_on'])
        if args['dot_timeout'] < 1:
            raise AnsibleActionFail('dot_timeout: must be 1 or more seconds (got %r)'
                                    % args['dot_timeout'])
        report = mesh_doctor_report(args['hosts'])
        data = dict((k, v) for k, v in report.items() if k not in NOT_IN_JSON)
        files = dict((('report.md', report['markdown']),
                      ('report.json', json.dumps(data, indent=4, sort_keys=True,
                                                 separators=(',', ': '), ensure_ascii=False)),
                      ('mesh.dot', report['dot'])))
        changed = False
        try:
            if not os.path.isdir(dest):
                os.makedirs(dest, 0o755)
                changed = True
            for name, content in files.items():
                changed = write_file(os.path.join(dest, name), content) or changed
        except (IOError, OSError) as exc:
            raise AnsibleActionFail('dest: cannot write the report in %s: %s'
                                    % (dest, to_text(exc)))
        svg, svg_error = render_svg(os.path.join(dest, 'mesh.dot'), os.path.join(dest, 'mesh.svg'),
                                    args['dot_timeout'])
        for finding in data['findings']:
            display.display('%s: %s: %s -- fix: %s'
                            % (finding['severity'], finding['kind'], finding['what'],
                               finding['fix']))
        msg = ('mesh doctor: %d error(s), %d warning(s); report in %s'
               % (data['errors'], data['warnings'], os.path.join(dest, 'report.md')))
        # under ``report``: a task result's own ``warnings`` are messages, not the count
        result.update(report=data, changed=changed, dest=dest, svg=svg, svg_error=svg_error,
                      files=sorted(list(files) + (['mesh.svg'] if svg else [])), msg=msg,
                      failed=failing(data, args['fail_on']))
        return result
