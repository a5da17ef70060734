# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The file side of cloudstack.ovs.mesh_doctor_write: unchanged files are not rewritten, the
picture is drawn by Graphviz' dot when it is installed and a dot failure is reported, not raised;
the task result holds the whole report or its summary (``return_report``)."""

import json
import os
import shutil

import pytest

from ansible.errors import AnsibleActionFail
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible.plugins.loader import connection_loader
from ansible.template import Templar

from ansible_collections.cloudstack.ovs.plugins.action.mesh_doctor_write import (
    DOT_MAX_LINKS,
    NOT_READ,
    ActionModule,
    failing,
    host_entry,
    picture_links,
    render_svg,
    returned_report,
    write_file,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils import mesh_report


def test_write_file_writes_once(tmp_path):
    path = str(tmp_path / 'report.md')
    assert write_file(path, '# report\n') is True
    mtime = os.stat(path).st_mtime_ns
    assert write_file(path, '# report\n') is False
    assert os.stat(path).st_mtime_ns == mtime
    assert write_file(path, '# report 2\n') is True
    with open(path) as handle:
        assert handle.read() == '# report 2\n'
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o644)
    # No temporary file is left, and none has a fixed name another run could share.
    assert os.listdir(str(tmp_path)) == ['report.md']


def test_write_file_replaces_a_fixed_tmp_name_it_does_not_use(tmp_path):
    # A file named as the old fixed temporary name (report.md.tmp) is not the writer's.
    path = str(tmp_path / 'report.md')
    with open(path + '.tmp', 'w') as handle:
        handle.write('someone else\'s')
    assert write_file(path, 'ä report\n') is True
    with open(path, encoding='utf-8') as handle:
        assert handle.read() == 'ä report\n'
    with open(path + '.tmp') as handle:
        assert handle.read() == 'someone else\'s'


@pytest.mark.skipif(shutil.which('dot') is None, reason='Graphviz dot is not installed')
def test_render_svg_draws_and_reports_a_bad_source(tmp_path):
    src, svg = str(tmp_path / 'mesh.dot'), str(tmp_path / 'mesh.svg')
    with open(src, 'w') as handle:
        handle.write('graph { kvm1 -- kvm2 [color="#d62728"] }\n')
    assert render_svg(src, svg, 30) == (True, None)
    with open(svg) as handle:
        drawn = handle.read()
    assert '<svg' in drawn and '#d62728' in drawn
    with open(src, 'w') as handle:
        handle.write('graph { a -- \n')
    ok, error = render_svg(src, str(tmp_path / 'bad.svg'), 30)
    assert ok is False and error.startswith('dot failed')


def test_failing_follows_fail_on():
    clean_with_warning = dict(clean=True, findings=[dict(severity='warning')])
    broken = dict(clean=False, findings=[dict(severity='error')])
    spotless = dict(clean=True, findings=[])
    assert [failing(r, 'error') for r in (spotless, clean_with_warning, broken)] == \
        [False, False, True]
    assert [failing(r, 'warning') for r in (spotless, clean_with_warning, broken)] == \
        [False, True, True]
    assert [failing(r, 'never') for r in (spotless, clean_with_warning, broken)] == \
        [False, False, False]


INVENTORY = dict(cloudstack_host_id=2, cloudstack_underlay_ip='192.0.2.12',
                 cloudstack_gre_networks=[1001, 1002])


def test_host_entry_takes_the_reading_as_registered():
    reading = dict(changed=False, host_id=2, bridges={}, addresses=[])
    entry = host_entry('kvm2', INVENTORY, reading)
    assert entry == dict(name='kvm2', host_id=2, underlay_ip='192.0.2.12', local_ip=None,
                         networks=[1001, 1002], info=reading, error=NOT_READ)
    assert entry['info'] is reading  # not copied: a zone's readings are large


def test_host_entry_keeps_a_reading_json_for_the_report_to_decode():
    reading = dict(changed=False, host_id=2, reading_json='{"host_id":2,"bridges":{}}')
    entry = host_entry('kvm2', INVENTORY, reading)
    assert entry['info'] is reading


def test_host_entry_of_a_host_not_read():
    # failed (failed_when: false keeps msg), unreachable, not in the play (--limit)
    failed = host_entry('kvm2', INVENTORY, dict(failed=False, msg='timed out after 60 s'))
    unreachable = host_entry('kvm2', INVENTORY, dict(unreachable=True, msg='ssh: no route'))
    limited = host_entry('kvm2', INVENTORY, None)
    assert [(e['info'], e['error']) for e in (failed, unreachable, limited)] == [
        (None, 'timed out after 60 s'), (None, 'ssh: no route'), (None, NOT_READ)]
    assert host_entry('kvm2', dict(), dict(failed=True))['error'] == NOT_READ
    bare = host_entry('kvm9', dict(), None)
    assert (bare['host_id'], bare['underlay_ip'], bare['networks']) == (None, None, [])


def test_picture_links_counts_host_pairs_of_every_network():
    report = dict(networks={'1001': dict(pairs=[1, 2, 3]), '1002': dict(pairs=[4])})
    assert picture_links(report) == 4
    assert picture_links(dict(networks={})) == 0


@pytest.mark.skipif(shutil.which('dot') is None, reason='Graphviz dot is not installed')
def test_render_svg_lays_out_a_large_picture_with_sfdp(tmp_path):
    src, svg = str(tmp_path / 'mesh.dot'), str(tmp_path / 'mesh.svg')
    with open(src, 'w') as handle:
        handle.write('graph { kvm1 -- kvm2 [color="#2ca02c"] }\n')
    assert render_svg(src, svg, 30, links=DOT_MAX_LINKS + 1) == (True, None)
    with open(svg) as handle:
        assert '<svg' in handle.read()


def run_action(args):
    """The action's run() as a play's task runs it, on the local connection."""
    task = Task()
    task.action = 'cloudstack.ovs.mesh_doctor_write'
    task.args = args
    loader = DataLoader()
    action = ActionModule(task, connection_loader.get('local', PlayContext(), None),
                          PlayContext(), loader, Templar(loader=loader), None)
    return action.run(task_vars={})


def unreadable(count, keys=(1001, 1002)):
    return [dict(name='kvm%d' % i, host_id=i, underlay_ip='192.0.2.%d' % i, networks=list(keys),
                 info=None, error='unreachable') for i in range(1, count + 1)]


def test_return_report_full_is_report_json_and_summary_leaves_out_the_matrix(tmp_path):
    full = run_action(dict(hosts=unreadable(3), dest=str(tmp_path / 'full'), fail_on='never'))
    summary = run_action(dict(hosts=unreadable(3), dest=str(tmp_path / 'summary'),
                              fail_on='never', return_report='summary'))
    with open(str(tmp_path / 'full' / 'report.json')) as handle:
        on_disk = json.load(handle)
    # full (the default, as in 0.2.0): the whole report.json
    assert json.loads(json.dumps(full['report'])) == on_disk
    assert [len(net['pairs']) for net in on_disk['networks'].values()] == [3, 3]
    # summary: all of it but the host-pair matrix, every finding kept; report.json is the same
    with open(str(tmp_path / 'summary' / 'report.json')) as handle:
        assert json.load(handle) == on_disk
    assert 'networks' not in summary['report']
    assert summary['report'] == dict((k, v) for k, v in full['report'].items() if k != 'networks')
    assert [f['kind'] for f in summary['report']['findings']] == ['host-unreadable'] * 3
    assert (summary['report']['errors'], summary['report']['clean']) == (3, False)
    assert [h['name'] for h in summary['report']['hosts']] == ['kvm1', 'kvm2', 'kvm3']
    assert 'tunnel_traces' in summary['report']
    assert summary['msg'].startswith('mesh doctor: 3 error(s), 0 warning(s); report in ')
    assert summary['failed'] is False and full['failed'] is False


def test_returned_report_keeps_the_data_it_is_given():
    data = dict(clean=True, errors=0, warnings=0, hosts=[], findings=[], networks={1: {}})
    assert returned_report(data, 'full') is data
    assert returned_report(data, 'summary') == dict(clean=True, errors=0, warnings=0, hosts=[],
                                                    findings=[])
    assert data['networks'] == {1: {}}


def test_a_bad_return_report_names_the_field_and_writes_nothing(tmp_path):
    dest = tmp_path / 'report'
    with pytest.raises(AnsibleActionFail) as failure:
        run_action(dict(hosts=unreadable(2), dest=str(dest), return_report='all'))
    assert str(failure.value) == "return_report: must be full or summary (got 'all')"
    assert not dest.exists()


@pytest.mark.skipif(shutil.which('dot') is None, reason='Graphviz dot is not installed')
def test_a_picture_above_the_threshold_draws_the_broken_links_only(tmp_path, monkeypatch):
    # 12 unreadable hosts in one network: 66 broken links, above a threshold of 40 links, and at
    # most 30 broken ones drawn (mesh_report's tests: working links left out)
    monkeypatch.setattr(mesh_report, 'PICTURE_MAX_LINKS', 40)
    monkeypatch.setattr(mesh_report, 'PICTURE_MAX_BROKEN', 30)
    hosts = unreadable(12, keys=(1001,))
    result = run_action(dict(hosts=hosts, dest=str(tmp_path), fail_on='never'))
    data = result['report']
    assert sum(len(net['pairs']) for net in data['networks'].values()) == 66
    # the layout is chosen by the links drawn (mesh_report's one choice of them)
    assert picture_links(data) == len(mesh_report.picture_links(data)[0]) == 30
    with open(str(tmp_path / 'mesh.dot')) as handle:
        dot = handle.read()
    title = ('30 of 66 links drawn: above 40 links only broken ones; 0 working links left out, '
             'and 36 broken ones past the first 30')
    assert title in dot and dot.count(' -- ') == 30 and dot.count('subgraph') == 12
    assert result['svg'] is True and result['svg_error'] is None
    with open(str(tmp_path / 'mesh.svg')) as handle:
        drawn = handle.read()
    assert title in drawn and '#d62728' in drawn
