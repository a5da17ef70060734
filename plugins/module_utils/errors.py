# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The one error type of the collection and the one way a module fails.

Standard library only: filters, planners and the action plugin import it too.

Every error meant for the operator is a ``ModuleError`` (or a subclass named after where it
comes from: ``ParamError`` for a bad parameter, ``OvsdbError`` for the database,
``CloudStackError`` for the API, ``PropertiesError`` and ``ExtraConfigError`` for the formats
they read). It carries:

- the message, which names the field and shows the value (through ``validate.describe``,
  masked where the value is a secret: the raiser knows, this file does not);
- ``field``: the parameter at fault, where there is one (returned to the playbook as
  ``field``, so a job template can act on it); the value itself is never returned, as it may be
  a secret;
- ``changed``: true when something was (or may have been) committed before the failure;
- ``detail``: what the message leaves out, shown at ``-vvv``;
- ``retry``: the failure left nothing changed and planning again may succeed (the OVSDB
  conflict: the database changed between the read and the commit);
- ``result``: return values that still hold after the failure (the file a run was writing, the
  backup it made, the API calls that went through), returned beside ``msg``; never secrets.

Anything that is not a ``ModuleError`` is a bug: ``plan.run_module`` does not catch it, so
Ansible reports a module failure with the traceback (shown at ``-vvv``).
"""

import re

# Messages start with the field they are about: "peers[2].remote_ip: ...".
_FIELD_PREFIX = re.compile(r'([A-Za-z_][\w.\[\]-]*):\s')


class ModuleError(Exception):
    """An error meant for the operator; see the file's docstring for the attributes."""

    def __init__(self, msg, field=None, changed=False, detail=None, retry=False, result=None):
        super(ModuleError, self).__init__(msg)
        self.field = field
        self.changed = changed
        self.detail = detail
        self.retry = retry
        self.result = dict(result or {})
        # How many times the module planned before this error (set by plan.execute).
        self.attempts = 1


class ParamError(ModuleError, ValueError):
    """A parameter is wrong; the message names the field and the value. Nothing was changed.

    Also a ``ValueError``, so that a filter's ``except ValueError`` still turns it into its own
    error. ``field`` defaults to the name the message starts with ("peers[2].remote_ip: ...").
    """

    def __init__(self, msg, field=None):
        if field is None:
            match = _FIELD_PREFIX.match(msg) if isinstance(msg, str) else None
            field = match.group(1) if match else None
        super(ParamError, self).__init__(msg, field=field)


class OvsdbError(ModuleError):
    """A failure talking to OVSDB or ovs-vswitchd (``changed``/``detail`` as ``ModuleError``)."""

    def __init__(self, msg, changed=False, detail=None, retry=False):
        super(OvsdbError, self).__init__(msg, changed=changed, detail=detail, retry=retry)


class ConflictError(OvsdbError):
    """The database changed between the read and the commit; nothing was committed."""

    def __init__(self, msg, detail=None):
        super(ConflictError, self).__init__(msg, detail=detail, retry=True)


def fail(module, exc, invocation=None):
    """Fail the module with ``exc``'s message: the one fail path of every module.
    ``invocation``, when given, is the result's ``invocation`` (see ``plan.run_module``)."""
    msg = str(exc)
    if exc.retry and exc.attempts > 1:
        msg += ' (tried %d times)' % exc.attempts
    if exc.detail and getattr(module, '_verbosity', 0) >= 3:
        msg = '%s\n%s' % (msg, exc.detail)
    extra = dict((key, value) for key, value in exc.result.items()
                 if key not in ('msg', 'changed', 'failed'))
    if exc.field:
        extra['field'] = exc.field
    if invocation is not None:
        extra['invocation'] = invocation
    module.fail_json(msg=msg, changed=bool(exc.changed), **extra)
