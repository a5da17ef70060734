# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""agent_properties on a real file system: atomic write, owner/mode kept, backup, check mode,
missing file, read-only directory (a read-only bind mount: root ignores mode bits), secrets
kept out of every output, and - where a JDK is installed - the parser checked against
java.util.Properties itself."""

import json
import os
import shutil
import subprocess

import pytest

from conftest import run_module as run_collection_module
from ansible_collections.cloudstack.ovs.plugins.module_utils.properties import (
    as_dict,
    parse,
    plan,
    render,
)

SECRET = 'Tr0ub4dor&3-secret-value'


def run_module(args, check=False, diff=True):
    """agent_properties as Ansible runs it; its result with ``_raw`` (all it printed)."""
    return run_collection_module('agent_properties', args, check_mode=check, diff=diff, raw=True)


def test_edit_keeps_owner_mode_and_replaces_atomically(workdir):
    path = os.path.join(workdir, 'agent.properties')
    original = b'# agent\nhost=192.0.2.1\nguid = abc\n'
    with open(path, 'wb') as handle:
        handle.write(original)
    os.chown(path, 4321, 8765)
    os.chmod(path, 0o604)
    inode = os.stat(path).st_ino

    result = run_module(dict(path=path, properties={'host': '192.0.2.2', 'network.bridge.type':
                                                    'openvswitch'}))
    assert result['changed'] is True, result
    assert result['changed_keys'] == ['host', 'network.bridge.type']
    st = os.stat(path)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (4321, 8765, 0o604)
    assert st.st_ino != inode, 'the file must be replaced by rename, not rewritten in place'
    with open(path, 'rb') as handle:
        assert handle.read() == b'# agent\nhost=192.0.2.2\nguid = abc\nnetwork.bridge.type=openvswitch\n'
    assert [n for n in os.listdir(workdir) if n != 'agent.properties'] == [], 'no temp file left'

    # the same again: nothing changes, not even the inode or mtime
    before = os.stat(path)
    result = run_module(dict(path=path, properties={'host': '192.0.2.2', 'network.bridge.type':
                                                    'openvswitch'}))
    assert result['changed'] is False and result['changed_keys'] == []
    after = os.stat(path)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_new_file_mode_default_and_given(workdir):
    path = os.path.join(workdir, 'sub', 'dir', 'agent.properties')
    result = run_module(dict(path=path, properties={'a': 1, 'b': True}))
    assert result['changed'] is True
    assert os.stat(path).st_mode & 0o7777 == 0o640
    with open(path, 'rb') as handle:
        assert handle.read() == b'a=1\nb=true\n'
    other = os.path.join(workdir, 'other.properties')
    run_module(dict(path=other, properties={'a': 'x'}, mode='0600', owner='1234'))
    st = os.stat(other)
    assert (st.st_mode & 0o7777, st.st_uid) == (0o600, 1234)


def test_backup_keeps_old_text(workdir):
    path = os.path.join(workdir, 'agent.properties')
    with open(path, 'w') as handle:
        handle.write('a=1\n')
    result = run_module(dict(path=path, properties={'a': '2'}, backup=True))
    assert result['changed'] is True
    with open(result['backup_file']) as handle:
        assert handle.read() == 'a=1\n'
    with open(path) as handle:
        assert handle.read() == 'a=2\n'


def test_check_mode_writes_nothing_but_reports_the_diff(workdir):
    path = os.path.join(workdir, 'agent.properties')
    with open(path, 'w') as handle:
        handle.write('a=1\n')
    result = run_module(dict(path=path, properties={'a': '2'}), check=True)
    assert result['changed'] is True
    assert result['diff']['before'] == 'a=1\n' and result['diff']['after'] == 'a=2\n'
    with open(path) as handle:
        assert handle.read() == 'a=1\n'
    missing = os.path.join(workdir, 'new.properties')
    result = run_module(dict(path=missing, properties={'a': '2'}), check=True)
    assert result['changed'] is True and not os.path.exists(missing)


def test_missing_file_without_create_fails_naming_the_path(workdir):
    path = os.path.join(workdir, 'absent.properties')
    result = run_module(dict(path=path, properties={'a': '1'}, create=False))
    assert result.get('failed') is True
    assert path in result['msg'] and 'create' in result['msg']
    assert not os.path.exists(path)


def test_malformed_file_fails_and_stays(workdir):
    path = os.path.join(workdir, 'agent.properties')
    with open(path, 'w') as handle:
        handle.write('a=1\nb=\\u12\n')
    result = run_module(dict(path=path, properties={'a': '2'}))
    assert result.get('failed') is True
    assert path in result['msg'] and 'line 2' in result['msg']
    with open(path) as handle:
        assert handle.read() == 'a=1\nb=\\u12\n'


BAD_CHARS = [
    # issue 22 A: a NUL in path ended in a traceback ("embedded null byte"); in a key or value
    # it was written as \u0000
    ('nul in path', dict(path_suffix='\x00x'), 'path:', "'"),
    ('nul in key', dict(properties={'a\x00b': '1'}), "properties: key 'a\\x00b' holds a NUL",
     None),
    ('nul in value', dict(properties={'a': 'x\x00y'}),
     'properties.a: the value holds a NUL (U+0000) at character 1', "'x\\x00y'"),
    ('nul in secret', dict(properties={'keystore.passphrase': SECRET + '\x00'}),
     'properties.keystore.passphrase: the value holds a NUL', 'secret key, not shown'),
    ('lone surrogate', dict(properties={'a': 'x\ud800'}),
     'properties.a: the value holds an unpaired surrogate (U+D800)', None),
]


@pytest.mark.parametrize('label,args,start,shown', BAD_CHARS, ids=[b[0] for b in BAD_CHARS])
@pytest.mark.parametrize('check', [False, True])
def test_characters_the_agent_cannot_take_are_refused(workdir, label, args, start, shown, check):
    path = os.path.join(workdir, 'agent.properties')
    with open(path, 'w') as handle:
        handle.write('a=1\n')
    args = dict(args)
    call = dict(path=path + args.pop('path_suffix', ''), properties={'b': '2'})
    call.update(args)
    result = run_module(call, check=check)
    assert result.get('failed') is True, result
    assert result['msg'].startswith(start), result['msg']
    assert 'Traceback' not in result['_raw'] and 'embedded null byte' not in result['msg']
    if shown:
        assert shown in result['msg'], result['msg']
    assert SECRET not in result['_raw']
    assert result.get('changed') is not True
    assert os.listdir(workdir) == ['agent.properties']
    with open(path) as handle:
        assert handle.read() == 'a=1\n'


def test_read_only_directory_fails_clearly_and_keeps_the_file(workdir):
    directory = os.path.join(workdir, 'ro')
    os.mkdir(directory)
    path = os.path.join(directory, 'agent.properties')
    with open(path, 'w') as handle:
        handle.write('# keep\na=1\n')
    # root ignores permission bits, so make the directory really read-only: a read-only
    # bind mount of itself.
    subprocess.run(['mount', '--bind', directory, directory], check=True)
    try:
        subprocess.run(['mount', '-o', 'remount,ro,bind', directory], check=True)
        result = run_module(dict(path=path, properties={'a': '2'}))
        assert result.get('failed') is True, result
        assert path in result['msg'] and 'not changed' in result['msg'], result['msg']
        assert 'Read-only' in result['msg'], result['msg']
        with open(path) as handle:
            assert handle.read() == '# keep\na=1\n'
        assert os.listdir(directory) == ['agent.properties']
    finally:
        subprocess.run(['umount', directory], check=True)


def test_secret_values_never_appear_in_output(workdir):
    path = os.path.join(workdir, 'agent.properties')
    with open(path, 'w') as handle:
        handle.write('keystore.passphrase=old-%s\nhost=192.0.2.1\n' % SECRET)
    result = run_module(dict(path=path, properties={'keystore.passphrase': SECRET,
                                                    'my.custom': 'custom-' + SECRET},
                             secret_keys=['my.custom']))
    assert result['changed'] is True
    assert SECRET not in result['_raw'], 'a secret leaked into the module output'
    assert 'keystore.passphrase=********' in result['diff']['after']
    assert 'my.custom=********' in result['diff']['after']
    assert 'keystore.passphrase=********' in result['diff']['before']
    with open(path) as handle:
        assert SECRET in handle.read()


# ------------------------------------------------ cross-check with java.util.Properties

JAVA_READER = r'''
import java.io.*;
import java.util.*;
public class ReadProps {
    static String q(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) b.append(String.format("\\u%04x", (int) c));
        return b.append('"').toString();
    }
    public static void main(String[] args) throws Exception {
        for (String name : args) {
            Properties p = new Properties();
            try (InputStream in = new FileInputStream(name)) { p.load(in); }
            StringBuilder out = new StringBuilder("{");
            for (String k : new TreeSet<>(p.stringPropertyNames())) {
                if (out.length() > 1) out.append(',');
                out.append(q(k)).append(':').append(q(p.getProperty(k)));
            }
            System.out.println(out.append('}'));
        }
    }
}
'''

CASES = [
    'k=v\nk2:v2\nk3 v3\n  k4 \t=\t v4  \n\f k5\n=v6\n',
    'a=1\\\n   2\\\\\nb=x\\\\\\\n\ty\nc=\\u00e9\\ud83d\\ude00\\t\\n\\q\n',
    '# comment \\\nd=1\n! other\ne : = f\ng\\ h\\=i\\:j = k\n',
    'crlf=1\r\nlone\\\r  cr=2\rlast=3\\',
    'utf8=\u00c3\u00a9 raw bytes\nlatin=\u00e9\n',
    'cont=a\\\n\nafter=1\ncomment.in.cont=x\\\n  # y\n',
]


@pytest.mark.skipif(shutil.which('java') is None, reason='no JDK on this machine')
def test_parser_agrees_with_java_util_properties(workdir):
    files = []
    for index, text in enumerate(CASES):
        # and what we write for awkward values must read back the same in Java
        wanted = {'w1': ' =lead', 'w2': 'x\\y:z=#!', 'w3': '\u00e9\u20ac\U0001F600',
                  'k e=y': 'tab\tnl\n', 'cont': 'new'}
        edited, unused = plan(parse(text), wanted)
        for suffix, body in (('in', text), ('out', render(edited))):
            name = os.path.join(workdir, 'case%d.%s.properties' % (index, suffix))
            with open(name, 'wb') as handle:
                handle.write(body.encode('iso-8859-1'))
            files.append((name, body))
    source = os.path.join(workdir, 'ReadProps.java')
    with open(source, 'w') as handle:
        handle.write(JAVA_READER)
    proc = subprocess.run(['java', source] + [name for name, body in files], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=120, check=True)
    lines = proc.stdout.decode().splitlines()
    assert len(lines) == len(files)
    for (name, body), line in zip(files, lines):
        java = json.loads(line)
        assert as_dict(parse(body)) == java, (name, body)


def test_mode_octal_or_symbolic_only_attributes_change(workdir):
    """The text is right and only the mode differs: the mode is compared without changing it
    (check mode reports it, leaves it), a real run sets it; the same mode said symbolically is
    no change; a mode Ansible would not take is refused before anything is written."""
    path = os.path.join(workdir, 'agent.properties')
    with open(path, 'w') as handle:
        handle.write('a=1\n')
    os.chmod(path, 0o640)
    same = run_module(dict(path=path, properties={'a': '1'}, mode='u=rw,g=r,o='))
    assert same['changed'] is False, same['_raw']
    checked = run_module(dict(path=path, properties={'a': '1'}, mode='g+w'), check=True)
    assert checked['changed'] is True and os.stat(path).st_mode & 0o7777 == 0o640
    done = run_module(dict(path=path, properties={'a': '1'}, mode='g+w'))
    assert done['changed'] is True and os.stat(path).st_mode & 0o7777 == 0o660
    again = run_module(dict(path=path, properties={'a': '1'}, mode='0660'))
    assert again['changed'] is False
    bad = run_module(dict(path=path, properties={'a': '2'}, mode='u-w+x'))
    assert bad.get('failed') and bad['msg'].startswith("mode: 'u-w+x' is neither octal")
    assert open(path).read() == 'a=1\n' and os.stat(path).st_mode & 0o7777 == 0o660
