# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The one way a filter of this collection fails: ``@filter_errors`` around the filter.

Filters raise, or let module_utils raise, a ``ModuleError`` (``ParamError`` and its kin, whose
message names the field and the value) like the modules do; the decorator turns it into
Ansible's ``AnsibleFilterError`` with that message - after the filter's name when ``named``
(for filters whose messages do not name what they read). Controller-side code, hence here and
not in module_utils (which must not import ``ansible.errors``).
"""

import functools

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import ModuleError


def filter_errors(named=False):
    """Decorator of a filter function: a ``ModuleError`` becomes an ``AnsibleFilterError``."""
    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            try:
                return func(*args, **kwargs)
            except ModuleError as exc:
                msg = '%s: %s' % (func.__name__, exc) if named else str(exc)
                raise AnsibleFilterError(msg) from exc
        return wrapper
    return decorate
