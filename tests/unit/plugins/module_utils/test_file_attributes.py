# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""file_attributes reads a mode as chmod(1) does (checked against the real chmod on a file) and
says whether owner, group or mode differ without changing anything."""

import os
import stat
import subprocess

import pytest

from ansible_collections.cloudstack.ovs.plugins.module_utils.file_attributes import (
    fs_attributes_differ,
    mode_number,
)

MODES = ['u=rw,g=r,o=', 'go-w', 'a+X', 'u+x,g=u', '+x', 'o=', 'ug+s', '+t', 'u=rwx,go=rx',
         'a-x', 'g=o', '=r', 'a=', 'o+t', 'u=rwxs']


@pytest.mark.parametrize('start', [0o644, 0o755, 0o600, 0o4750])
@pytest.mark.parametrize('text', MODES)
def test_symbolic_modes_as_chmod_reads_them(tmp_path, start, text):
    path = tmp_path / 'f'
    path.write_text('x')
    os.chmod(str(path), start)
    subprocess.run(['chmod', text, str(path)], check=True)
    chmod = stat.S_IMODE(os.stat(str(path)).st_mode)
    assert '%04o' % mode_number(text, stat.S_IFREG | start) == '%04o' % chmod


@pytest.mark.parametrize('text', ['u=q', 'z+r', 'u', 'rw', 'u=rw,', 'u==w', 'u-w+x'])
def test_what_ansible_refuses_is_refused(text):
    # chmod takes u-w+x (two operators in a clause); Ansible, which applies the mode, does not.
    with pytest.raises(ValueError):
        mode_number(text, stat.S_IFREG | 0o644)


def test_octal_and_numbers():
    assert mode_number('0640', 0) == 0o640
    assert mode_number('640', 0) == 0o640
    assert mode_number(0o600, 0) == 0o600


class Module(object):
    """The two readers fs_attributes_differ asks the module (no SELinux here)."""

    def selinux_enabled(self):
        return False

    def get_file_attributes(self, path, include_version=False):
        return dict(attr_flags='e')


def test_differs_reads_and_changes_nothing(tmp_path):
    path = tmp_path / 'f'
    path.write_text('x')
    os.chmod(str(path), 0o640)
    me = os.stat(str(path))
    args = dict(path=str(path), owner=None, group=None, mode=None, secontext=None,
                attributes=None)
    assert not fs_attributes_differ(Module(), args)
    assert not fs_attributes_differ(Module(), dict(args, mode='0640', owner=str(me.st_uid),
                                                   group=str(me.st_gid)))
    assert not fs_attributes_differ(Module(), dict(args, mode='u=rw,g=r,o='))
    assert fs_attributes_differ(Module(), dict(args, mode='0600'))
    assert fs_attributes_differ(Module(), dict(args, mode='g+w'))
    assert fs_attributes_differ(Module(), dict(args, owner=str(me.st_uid + 1)))
    assert fs_attributes_differ(Module(), dict(args, group=str(me.st_gid + 1)))
    assert not fs_attributes_differ(Module(), dict(args, attributes='e'))
    assert fs_attributes_differ(Module(), dict(args, attributes='+i'))
    assert fs_attributes_differ(Module(), dict(args, attributes='-e'))
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o640
