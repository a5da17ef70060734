# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The GRE mesh as a Graphviz (DOT) picture: one drawing for the lab and the mesh doctor.

``mesh_dot`` returns DOT source only (no Graphviz needed to build it); render it with
``dot -Tsvg`` or the ``graphviz`` Python package. Hosts are clusters holding one box per network
bridge (and, when given, the VM plugged into it); a link joins the bridges of two hosts in one
network, green when the pair works and red when it is broken.
"""

PALETTE = ('#1f77b4', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22',
           '#7f7f7f')
OK_COLOR = '#2ca02c'
BROKEN_COLOR = '#d62728'


def _q(text):
    """A DOT string literal; ``\\n`` in the text stays a DOT line break."""
    return '"%s"' % str(text).replace('\\', '\\\\').replace('\\\\n', '\\n').replace('"', '\\"')


def _attrs(**attrs):
    return '[%s]' % ', '.join('%s=%s' % (k, _q(v)) for k, v in sorted(attrs.items()))


def _node_id(host, key, kind='br'):
    return '%s_%s_%s' % (host, kind, key)


def mesh_dot(title, hosts, links):
    """DOT source of the mesh.

    ``hosts``: [{id, label, networks: [{key, label, vm_label (optional)}]}];
    ``links``: [{key, a, b, ok, label}] with ``a``/``b`` host ids. Networks get their colour
    by their order of appearance; links are green (ok) or red (broken).
    """
    keys = []
    for host in hosts:
        for net in host['networks']:
            if net['key'] not in keys:
                keys.append(net['key'])
    colors = dict((k, PALETTE[i % len(PALETTE)]) for i, k in enumerate(sorted(keys)))
    lines = ['graph mesh {',
             '  graph %s;' % _attrs(label=title, labelloc='t', fontname='Helvetica',
                                    rankdir='LR', splines='true', nodesep='0.5'),
             '  node %s;' % _attrs(fontname='Helvetica', fontsize='10'),
             '  edge %s;' % _attrs(fontname='Helvetica', fontsize='9')]
    for host in hosts:
        lines.append('  subgraph %s {' % _q('cluster_%s' % host['id']))
        cluster = _attrs(label=host['label'], style='rounded', color='#555555')
        lines.append('    graph %s;' % cluster)
        for net in host['networks']:
            bridge = _node_id(host['id'], net['key'])
            box = _attrs(label=net['label'], shape='box', style='filled', fillcolor='white',
                         color=colors[net['key']])
            lines.append('    %s %s;' % (_q(bridge), box))
            if net.get('vm_label'):
                vm_node = _node_id(host['id'], net['key'], 'vm')
                lines.append('    %s %s;' % (_q(vm_node), _attrs(label=net['vm_label'],
                                                                 shape='ellipse',
                                                                 color=colors[net['key']])))
                lines.append('    %s -- %s;' % (_q(vm_node), _q(bridge)))
        lines.append('  }')
    for link in links:
        lines.append('  %s -- %s %s;' % (
            _q(_node_id(link['a'], link['key'])), _q(_node_id(link['b'], link['key'])),
            _attrs(label=link.get('label', 'key %s' % link['key']),
                   color=OK_COLOR if link['ok'] else BROKEN_COLOR,
                   fontcolor='#000000' if link['ok'] else BROKEN_COLOR, penwidth='2')))
    lines.append('}')
    return '\n'.join(lines) + '\n'
