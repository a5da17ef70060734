# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The mesh doctor's report: the Markdown zone report and the mesh picture (DOT source).

Both render the result of ``mesh_doctor.diagnose``; the picture is drawn by
``mesh_picture.mesh_dot`` (the one drawing of the lab and the doctor). Pure functions only.
"""

from ansible_collections.cloudstack.ovs.plugins.module_utils import gre_names
from ansible_collections.cloudstack.ovs.plugins.module_utils.mesh_picture import mesh_dot


# Above this many links (host pairs x networks) the picture draws every host and bridge but only
# the broken links: Graphviz' sfdp laid out 32 hosts x 8 networks (3,968 links) in 2.5 s (7.7 s
# at load 55), 64 x 8 (16,128) in 25 s at load 55, and did not finish 128 x 8 (65,024 links, an
# 11 MB mesh.dot) within dot_timeout's 60 s; a picture of that many lines is unreadable anyway.
PICTURE_MAX_LINKS = 4000
# ... and at most this many broken links: 128 hosts x 8 networks' 1,024 bridges with one host's
# 1,016 broken links took sfdp 8 s at load 55, with 4,000 broken links 49 s. report.md and
# report.json keep every pair.
PICTURE_MAX_BROKEN = 1100


def _links(result):
    """Every link of the zone: one per host pair and network."""
    for key, net in sorted(result['networks'].items()):
        for pair in net['pairs']:
            yield key, pair


def picture_links(result, max_links=None, max_broken=None):
    """The links the picture draws and why some are left out: ``(drawn, left_out)`` with
    ``drawn`` the (key, pair) of every link up to ``max_links`` links (``PICTURE_MAX_LINKS``),
    above it the broken ones only, at most ``max_broken`` (``PICTURE_MAX_BROKEN``) of them, and
    ``left_out`` None or {ok, broken, links, max, max_broken} (how many working and broken links
    were not drawn, of how many)."""
    max_links = PICTURE_MAX_LINKS if max_links is None else max_links
    max_broken = PICTURE_MAX_BROKEN if max_broken is None else max_broken
    links = list(_links(result))
    if len(links) <= max_links:
        return links, None
    broken = [(key, pair) for key, pair in links if not pair['ok']]
    drawn = broken[:max_broken]
    return drawn, dict(ok=len(links) - len(broken), broken=len(broken) - len(drawn),
                       links=len(links), max=max_links, max_broken=max_broken)


def left_out_text(left_out):
    """One sentence on the links the picture leaves out, or ''."""
    if not left_out:
        return ''
    text = ('%d of %d links drawn: above %d links only broken ones; %d working links left out'
            % (left_out['links'] - left_out['ok'] - left_out['broken'], left_out['links'],
               left_out['max'], left_out['ok']))
    if left_out['broken']:
        text += (', and %d broken ones past the first %d'
                 % (left_out['broken'], left_out['max_broken']))
    return text


def picture(result, title='GRE mesh (red: broken host pair)'):
    """DOT source of the mesh: hosts, their network bridges, one link per host pair and network,
    red where the pair is broken (``mesh_picture.mesh_dot``, also used by the lab); above
    ``PICTURE_MAX_LINKS`` links only the broken ones, the title says how many were left out."""
    hosts = [dict(id=h['name'],
                  label='%s (host id %d, %s)' % (h['name'], h['host_id'], h['underlay_ip']),
                  networks=[dict(key=k, label=gre_names.default_bridge(k)) for k in h['networks']])
             for h in result['hosts']]
    drawn, left_out = picture_links(result)
    links = [dict(key=key, a=pair['a'], b=pair['b'], ok=pair['ok'],
                  label='key %d' % key if pair['ok'] else
                  'key %d: %s' % (key, '\\n'.join(pair['why'][:3])))
             for key, pair in drawn]
    if left_out:
        title = '%s\\n%s' % (title, left_out_text(left_out))
    return mesh_dot(title, hosts, links)


def _cell(text):
    return str(text).replace('|', '\\|').replace('\n', ' ')


def markdown(result, image='mesh.svg'):
    """The zone report: findings table, host-pair matrix per network, the mesh picture."""
    lines = ['# Mesh doctor report', '',
             '%s: %d error(s), %d warning(s) over %d hosts and %d networks. Read-only: nothing '
             'was changed on any host.' % ('CLEAN' if result['clean'] else 'BROKEN',
                                           result['errors'], result['warnings'],
                                           len(result['hosts']), len(result['networks'])), '']
    traces = result.get('tunnel_traces') or {}
    if traces.get('tunnels'):
        lines += ['Traced a broadcast coming in from %d of %d tunnel ports (it must not leave into '
                  'another tunnel; at most `max_tunnel_traces` per bridge); the split horizon of '
                  'all %d is checked through their broadcast flows and `protected` flags.'
                  % (traces['traced'], traces['tunnels'], traces['tunnels']), '']
    if result.get('unchecked'):
        lines += ['Not checked, their inventory entry is wrong (see `inventory-invalid`): %s.'
                  % ', '.join(h['name'] for h in result['unchecked']), '']
    if image:
        lines += ['![GRE mesh](%s)' % image, '']
        left_out = picture_links(result)[1]
        if left_out:
            lines += ['The picture: %s (the picture would be unreadable, and Graphviz did not lay '
                      'out a zone of 65,024 links within a minute); every pair is in the tables '
                      'below and in report.json.' % left_out_text(left_out), '']
    lines += ['## Findings', '']
    if result['findings']:
        lines += ['| severity | host | network | finding | what is wrong | fix |',
                  '| --- | --- | --- | --- | --- | --- |']
        for f in result['findings']:
            lines.append('| %s | %s | %s | `%s` | %s | `%s` |' % (
                f['severity'], f['host'], f['network'] if f['network'] is not None else '-',
                f['kind'], _cell(f['what']), _cell(f['fix'])))
    else:
        lines.append('None.')
    for key, net in sorted(result['networks'].items()):
        names = net['hosts']
        status = dict(((p['a'], p['b']), p) for p in net['pairs'])
        lines += ['', '## Network %d (%s): host pairs' % (key, gre_names.default_bridge(key)), '',
                  '| | ' + ' | '.join(names) + ' |', '| --- |' + ' --- |' * len(names)]
        for a in names:
            row = []
            for b in names:
                pair = status.get((a, b)) or status.get((b, a))
                if a == b:
                    row.append('-')
                elif pair['ok']:
                    row.append('ok')
                else:
                    row.append('broken: ' + _cell('; '.join(pair['why'])))
            lines.append('| %s | %s |' % (a, ' | '.join(row)))
    lines.append('')
    return '\n'.join(lines)
