# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""properties_file: the locked temporary file and the removal of a killed run's leftovers,
on the real file system (a temporary directory)."""

import fcntl
import os

from ansible_collections.cloudstack.ovs.plugins.module_utils.properties_file import (
    discard_temp,
    remove_leftover_temps,
    temp_name_re,
    write_temp,
)


def test_write_temp_is_private_complete_and_named_for_the_file(tmp_path):
    target = str(tmp_path / 'agent.properties')
    fd, tmp = write_temp(target, 'a=\u00e9\n')
    try:
        assert os.path.dirname(tmp) == str(tmp_path)
        assert temp_name_re(target).match(os.path.basename(tmp))
        assert os.stat(tmp).st_mode & 0o777 == 0o600
        with open(tmp, 'rb') as handle:
            assert handle.read() == b'a=\xe9\n'          # ISO-8859-1, as the agent reads it
    finally:
        discard_temp(fd, tmp)
    assert not os.path.exists(tmp)


def test_leftovers_are_removed_but_not_a_held_one_nor_other_names(tmp_path):
    target = str(tmp_path / 'agent.properties')
    fd, held = write_temp(target, 'held\n')            # a run in progress holds its lock
    left = str(tmp_path / '.agent.properties.abcd1234.tmp')
    with open(left, 'w') as handle:
        handle.write('secret\n')
    other = str(tmp_path / '.agent.properties.swp')
    with open(other, 'w') as handle:
        handle.write('editor\n')
    try:
        assert remove_leftover_temps(target) == [left]
        assert os.path.exists(held) and os.path.exists(other) and not os.path.exists(left)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    assert remove_leftover_temps(target) == [held]
    assert os.path.exists(other)


def test_no_directory_no_leftovers(tmp_path):
    assert remove_leftover_temps(str(tmp_path / 'missing' / 'agent.properties')) == []
