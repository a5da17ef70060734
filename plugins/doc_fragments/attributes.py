# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The attributes every module of the collection shares: check mode and diff mode.

``cloudstack.ovs.attributes``: a module that changes something - full check mode and diff
support (its own ``attributes`` say what it shows; their descriptions win over these).
``cloudstack.ovs.attributes.info_module``: a module that only reads.
"""


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
attributes:
  check_mode:
    support: full
    description: Reads the current state and reports what a real run changes; changes nothing.
  diff_mode:
    support: full
    description: Shows what changes, before and after.
'''

    INFO_MODULE = r'''
attributes:
  check_mode:
    support: full
    description: Reads only; runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to show.
'''
