# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The mesh doctor's report: the Markdown zone report and the mesh picture (DOT source).

Both render the result of ``mesh_doctor.diagnose``; the picture is drawn by
``mesh_picture.mesh_dot`` (the one drawing of the lab and the doctor). Pure functions only.
"""

from ansible_collections.cloudstack.ovs.plugins.module_utils import gre_names
from ansible_collections.cloudstack.ovs.plugins.module_utils.mesh_picture import mesh_dot


def picture(result, title='GRE mesh (red: broken host pair)'):
    """DOT source of the mesh: hosts, their network bridges, one link per host pair and network,
    red where the pair is broken (``mesh_picture.mesh_dot``, also used by the lab)."""
    hosts = [dict(id=h['name'],
                  label='%s (host id %d, %s)' % (h['name'], h['host_id'], h['underlay_ip']),
                  networks=[dict(key=k, label=gre_names.default_bridge(k)) for k in h['networks']])
             for h in result['hosts']]
    links = []
    for key, net in sorted(result['networks'].items()):
        for pair in net['pairs']:
            links.append(dict(key=key, a=pair['a'], b=pair['b'], ok=pair['ok'],
                              label='key %d' % key if pair['ok'] else
                              'key %d: %s' % (key, '\\n'.join(pair['why'][:3]))))
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
