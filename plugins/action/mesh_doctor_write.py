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
from ansible_collections.cloudstack.ovs.plugins.module_utils import mesh_report
from ansible_collections.cloudstack.ovs.plugins.module_utils.mesh_reading import READING_JSON
from ansible_collections.cloudstack.ovs.plugins.module_utils.properties_file import (
    discard_temp,
    fsync_directory,
    write_temp,
)

ARGUMENT_SPEC = dict(
    hosts=dict(type='list', elements='dict'),
    members=dict(type='list', elements='str'),
    reading=dict(type='str', default='mesh_doctor_info'),
    dest=dict(type='path', required=True),
    fail_on=dict(type='str', default='error'),
    dot_timeout=dict(type='int', default=60),
    return_report=dict(type='str', default='full'),
)
FAIL_ON = ('error', 'warning', 'never')
RETURN_REPORT = ('full', 'summary')
# what the task result's ``report`` leaves out with return_report=summary: the host-pair matrix
# (networks.*.pairs, 7.7 MB of report.json at 128 hosts x 8 networks), a zone's worth of data
# pickled to the main process and walked for every callback; report.json holds it
SUMMARY_LEAVES_OUT = ('networks',)
# Above this many links (host pairs x networks) the picture is laid out by Graphviz' sfdp, not
# dot: dot did not finish 3,968 links (32 hosts x 8 networks) within its 60 s, sfdp took 2.5 s.
DOT_MAX_LINKS = 500
# what report.json leaves out: the Markdown and the picture have files of their own
NOT_IN_JSON = ('markdown', 'dot')

display = Display()
# the error of a host whose reading is not there (not in the play: --limit)
NOT_READ = 'not read in this run (--limit?)'
# the inventory's variables of a host, as the report's entry names them
INVENTORY_VARS = (('host_id', 'cloudstack_host_id'), ('underlay_ip', 'cloudstack_underlay_ip'),
                  ('local_ip', 'cloudstack_gre_local_ip'), ('networks', 'cloudstack_gre_networks'))


def host_entry(name, inventory, reading):
    """One host's entry for ``mesh_doctor_report``: ``inventory`` (the host's variable -> its
    value, those it has), ``reading`` (its registered ``gre_mesh_info`` result, or None when
    it has none): a reading with neither ``bridges`` nor ``reading_json`` (failed, unreachable)
    is the entry's error. A ``reading_json`` stays a string here: ``mesh_doctor_report``
    decodes it, once."""
    entry = dict(name=name, networks=[])
    for field, var in INVENTORY_VARS:
        entry[field] = inventory.get(var)
    if entry['networks'] is None:
        entry['networks'] = []
    readable = isinstance(reading, dict) and ('bridges' in reading or READING_JSON in reading)
    entry['info'] = reading if readable else None
    entry['error'] = reading.get('msg', NOT_READ) if isinstance(reading, dict) else NOT_READ
    return entry


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


def picture_links(report):
    """How many links the picture draws (``mesh_report.picture_links``: one per host pair and
    network, above ``PICTURE_MAX_LINKS`` the broken ones only)."""
    return len(mesh_report.picture_links(report)[0])


def returned_report(data, return_report):
    """The task result's ``report``: all of report.json (``full``), or without the host-pair
    matrix (``summary``: the counts, hosts, every finding, tunnel_traces, ...)."""
    if return_report == 'full':
        return data
    return dict((k, v) for k, v in data.items() if k not in SUMMARY_LEAVES_OUT)


def render_svg(dot_file, svg_file, timeout, links=0):
    """mesh.svg from mesh.dot with Graphviz' dot (sfdp's layout above ``DOT_MAX_LINKS``
    links), bounded; (written, error)."""
    binary = shutil.which('dot')
    if binary is None:
        return False, 'Graphviz dot is not installed on the control node'
    layout = ['-Ksfdp'] if links > DOT_MAX_LINKS else []
    try:
        proc = subprocess.run([binary] + layout + ['-Tsvg', '-o', svg_file, dot_file],
                              capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return False, 'dot did not finish within %ss' % timeout
    if proc.returncode != 0:
        return False, 'dot failed (rc=%d): %s' % (proc.returncode, proc.stderr.strip())
    return True, None


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def member_entries(self, members, reading, task_vars):
        """The entries of ``members`` from their host variables: the inventory's few values
        templated as the play would, each registered reading as it was registered. The
        readings are a zone's worth of tunnels, flows and traces; templating them into a task
        argument walked and copied all of it in the controller's process (the report task
        took most of the doctor's time at 32 hosts and more)."""
        hostvars = task_vars['hostvars']
        entries = []
        for name in members:
            if name not in hostvars:
                raise AnsibleActionFail('members: no such host in the inventory: %r' % name)
            host = hostvars[name]
            inventory = dict((var, host[var]) for _field, var in INVENTORY_VARS if var in host)
            raw = hostvars.raw_get(name)
            entries.append(host_entry(name, inventory, raw.get(reading)))
        return entries

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(
            argument_spec=ARGUMENT_SPEC, mutually_exclusive=[('hosts', 'members')],
            required_one_of=[('hosts', 'members')])
        dest = args['dest']
        if args['fail_on'] not in FAIL_ON:
            raise AnsibleActionFail('fail_on: must be error, warning or never (got %r)'
                                    % args['fail_on'])
        if args['return_report'] not in RETURN_REPORT:
            raise AnsibleActionFail('return_report: must be full or summary (got %r)'
                                    % args['return_report'])
        if args['dot_timeout'] < 1:
            raise AnsibleActionFail('dot_timeout: must be 1 or more seconds (got %r)'
                                    % args['dot_timeout'])
        hosts = args['hosts']
        if hosts is None:
            hosts = self.member_entries(args['members'], args['reading'], task_vars)
        report = mesh_doctor_report(hosts)
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
                                    args['dot_timeout'], picture_links(data))
        for finding in data['findings']:
            display.display('%s: %s: %s -- fix: %s'
                            % (finding['severity'], finding['kind'], finding['what'],
                               finding['fix']))
        msg = ('mesh doctor: %d error(s), %d warning(s); report in %s'
               % (data['errors'], data['warnings'], os.path.join(dest, 'report.md')))
        # under ``report``: a task result's own ``warnings`` are messages, not the count
        result.update(report=returned_report(data, args['return_report']), changed=changed,
                      dest=dest, svg=svg, svg_error=svg_error,
                      files=sorted(list(files) + (['mesh.svg'] if svg else [])), msg=msg,
                      failed=failing(data, args['fail_on']))
        return result
