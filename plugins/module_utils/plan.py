# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The spine of every module: parse -> plan -> apply -> exit, with check mode and diff once.

A module's ``main()`` builds its ``AnsibleModule`` and hands ``run_module`` its functions:

- ``parse(params)`` (optional) checks and normalises the parameters before anything is read
  and returns the *request* the planner takes (default: ``module.params`` as they are);
- ``plan(context, request)`` reads the current state and returns a ``Plan``: the changes
  (``ops``, in whatever form the module's applier takes), ``before``/``after`` for the diff, the
  human-readable ``actions``, ``warnings``, and the module's own return values (``result``).
  It changes nothing, in check mode or not.
- ``apply(context, plan)`` makes the changes. It runs only when the plan has changes and
  the module is not in check mode, exactly once per attempt; it may return a dict of values
  only a real run knows (port numbers, say), merged into the result, or a ``Plan``: the plan
  as the changes left it, for a planner that can finish only after them (``gre_network``'s
  flows name the ofports of the tunnels it creates), which the result then shows instead.

``context`` is what both share - an open ``OvsdbSession``, a libvirt connection - opened by
the ``context`` factory given to ``run_module`` around plan and apply, and closed after.

``invocation`` (optional) is the result's ``invocation`` instead of Ansible's own, which echoes
every parameter (``gre_network`` given its networks by its action: a few hundred peers echoed
back to the controller for nothing, docs/scale.md).

Errors: a ``ModuleError`` fails the module through ``errors.fail`` (its ``changed`` says
whether anything was committed). One with ``retry`` set (the OVSDB conflict: nothing was
committed, the state moved under the plan) runs plan and apply again, up to ``RETRIES`` more
times. Anything else is a bug and is left to Ansible, which reports it with its traceback.

Standard library only, so that the planners' unit tests need nothing else.
"""

from contextlib import contextmanager

from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import ModuleError, fail

# How many times a plan is made again when the state changed between the read and the commit.
RETRIES = 3


class Plan(object):
    """What a module found and will change. ``changed`` is true when there are ops."""

    def __init__(self, ops=None, before=None, after=None, actions=None, warnings=None,
                 result=None, diff=None):
        self.ops = list(ops or [])
        self.before = before
        self.after = after
        # None: the module has no actions to report (an info module); omitted from the result.
        self.actions = None if actions is None else list(actions)
        self.warnings = list(warnings or [])
        self.result = dict(result or {})
        # A module whose diff is not before/after of one value (a file's text with headers,
        # several sections) gives it whole.
        self._diff = diff

    # Set by execute() on a plan that apply returned: the changes were made.
    changed_by_apply = False

    @property
    def changed(self):
        return bool(self.ops) or self.changed_by_apply

    @property
    def diff(self):
        if self._diff is not None:
            return self._diff
        return dict(before=self.before, after=self.after)

    def returns(self, with_diff, applied=None):
        """The module's return values (``warnings`` go through ``module.warn``)."""
        values = dict(self.result)
        values.update(applied or {})
        values['changed'] = self.changed
        if self.actions is not None:
            values['actions'] = self.actions
        # An info module's plan has nothing to show: no diff key, as before the spine.
        if with_diff and (self._diff, self.before, self.after) != (None, None, None):
            values['diff'] = self.diff
        return values


@contextmanager
def _no_context():
    yield None


def execute(module, plan, apply=None, parse=None, context=None):
    """Parse, plan, and apply unless in check mode; return ``(plan, applied)``.

    ``ModuleError`` propagates (after the retries); ``run_module`` is what modules call.
    """
    request = parse(module.params) if parse is not None else module.params
    attempt = 0
    while True:
        attempt += 1
        try:
            with (context or _no_context)() as ctx:
                made = plan(ctx, request)
                applied = None
                if made.changed and not module.check_mode and apply is not None:
                    applied = apply(ctx, made)
                    if isinstance(applied, Plan):
                        # The plan as the changes left it; the run changed what was planned.
                        applied.changed_by_apply = True
                        made, applied = applied, None
            return made, applied
        except ModuleError as exc:
            if exc.retry and attempt <= RETRIES:
                continue
            exc.attempts = attempt
            raise


def run_module(module, plan, apply=None, parse=None, context=None, invocation=None):
    """The one path of every module: parse, plan, apply unless in check mode, exit or fail."""
    try:
        made, applied = execute(module, plan, apply, parse, context)
    except ModuleError as exc:
        fail(module, exc, invocation)
        return
    for warning in made.warnings:
        module.warn(warning)
    result = made.returns(module._diff, applied)
    if invocation is not None:
        result['invocation'] = invocation
    module.exit_json(**result)
