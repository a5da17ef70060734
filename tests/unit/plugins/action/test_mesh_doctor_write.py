# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The file side of cloudstack.ovs.mesh_doctor_write: unchanged files are not rewritten, the
picture is drawn by Graphviz' dot when it is installed and a dot failure is reported, not raised."""

import os
import shutil

import pytest

from ansible_collections.cloudstack.ovs.plugins.action.mesh_doctor_write import (
    DOT_MAX_LINKS,
    NOT_READ,
    failing,
    host_entry,
    picture_links,
    render_svg,
    write_file,
)


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
