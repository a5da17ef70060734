# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The file side of cloudstack.ovs.mesh_doctor_write: unchanged files are not rewritten, the
picture is drawn by Graphviz' dot when it is installed and a dot failure is reported, not raised."""

import os
import shutil

import pytest

from ansible_collections.cloudstack.ovs.plugins.action.mesh_doctor_write import (
    failing,
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
