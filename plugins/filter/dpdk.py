# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Filters of the dpdk role: CPU lists -> OVS masks, and kernel command line edits.

Each filter is documented in its own ``plugins/filter/<name>.yml``; the CPU list logic lives
in ``module_utils/dpdk.py`` and is unit-tested there and in tests/unit/plugins/filter/.
"""

import shlex

from ansible_collections.cloudstack.ovs.plugins.module_utils import dpdk
from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import ParamError
from ansible_collections.cloudstack.ovs.plugins.plugin_utils.filter_errors import filter_errors


@filter_errors()
def cpu_list_to_mask(value, online=None, name='cpu list'):
    """``'2,3,10-11'`` -> ``'0xc0c'``; every CPU must be in ``online`` when it is given."""
    return dpdk.cpu_list_to_mask(value, online=online, field=name)


@filter_errors()
def cpu_list_normalize(value, name='cpu list'):
    """``'3,2,10,11'`` -> ``'2-3,10-11'`` (the kernel's notation)."""
    return dpdk.format_cpu_list(dpdk.parse_cpu_list(name, value))


@filter_errors()
def kernel_args_update(cmdline, wanted, name='kernel command line'):
    """Set ``key=value`` parameters on a kernel command line, keeping everything else.

    ``wanted`` maps parameter names to values; a null value removes the parameter. Earlier
    occurrences of a parameter named in ``wanted`` are dropped (the kernel honours the last
    one, hugepage options pair up by position, so one clean set is what we want). Quoted
    words stay quoted as they were.
    """
    if not isinstance(wanted, dict):
        raise ParamError('%s: the parameters must be a dictionary (got %r)' % (name, wanted))
    try:
        words = shlex.split(cmdline or '', posix=False)
    except ValueError as exc:
        raise ParamError('%s: cannot split %r: %s' % (name, cmdline, exc))
    kept = [w for w in words if w.split('=', 1)[0] not in wanted]
    for key, value in wanted.items():
        if value is None:
            continue
        value = str(value)
        if not value or any(ch.isspace() or ch in '"\'' for ch in value):
            raise ParamError('%s: value of %s must be one word (got %r)' % (name, key, value))
        kept.append('%s=%s' % (key, value))
    return ' '.join(kept)


class FilterModule(object):
    def filters(self):
        return {
            'cpu_list_to_mask': cpu_list_to_mask,
            'cpu_list_normalize': cpu_list_normalize,
            'kernel_args_update': kernel_args_update,
        }
