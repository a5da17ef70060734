# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The spine: run_module parses, plans, applies once unless checking, exits or fails once."""

import pytest

from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import (
    ModuleError,
    ParamError,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import (
    ConflictError,
    OvsdbError,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.plan import (
    RETRIES,
    Plan,
    run_module,
)


class Exited(Exception):
    pass


class FakeModule(object):
    """What run_module uses of AnsibleModule; exit_json/fail_json end the call as Ansible's do."""

    def __init__(self, check_mode=False, diff=False, params=None, verbosity=0):
        self.check_mode = check_mode
        self._diff = diff
        self._verbosity = verbosity
        self.params = params or {}
        self.warnings = []
        self.exited = self.failed = None

    def warn(self, text):
        self.warnings.append(text)

    def exit_json(self, **kwargs):
        self.exited = kwargs
        raise Exited()

    def fail_json(self, **kwargs):
        self.failed = kwargs
        raise Exited()


def run(module, plan, apply=None, parse=None, context=None, invocation=None):
    with pytest.raises(Exited):
        run_module(module, plan, apply, parse=parse, context=context, invocation=invocation)
    return module


def a_plan(ops=('op1',)):
    return Plan(list(ops), before={'a': 1}, after={'a': 2}, actions=['did %s' % o for o in ops],
                warnings=['look out'], result=dict(thing='x'))


def test_apply_runs_once_and_the_result_has_one_shape():
    applied = []
    module = run(FakeModule(diff=True), lambda ctx, req: a_plan(),
                 lambda ctx, plan: applied.append(plan.ops) or dict(ofport=5))
    assert applied == [['op1']]
    assert module.exited == dict(changed=True, actions=['did op1'], thing='x', ofport=5,
                                 diff=dict(before={'a': 1}, after={'a': 2}))
    assert module.warnings == ['look out']


def test_apply_may_return_the_plan_as_the_changes_left_it():
    def apply(ctx, plan):
        return Plan([], after={'a': 3}, actions=['did it, settled'], result=dict(ofport=7))
    module = run(FakeModule(diff=True), lambda ctx, req: a_plan(), apply)
    assert module.exited == dict(changed=True, actions=['did it, settled'], ofport=7,
                                 diff=dict(before=None, after={'a': 3}))


def test_check_mode_plans_and_never_applies():
    module = run(FakeModule(check_mode=True), lambda ctx, req: a_plan(),
                 lambda ctx, plan: pytest.fail('applied in check mode'))
    assert module.exited['changed'] is True and 'diff' not in module.exited


def test_no_ops_no_apply_and_unchanged():
    module = run(FakeModule(), lambda ctx, req: a_plan(ops=()),
                 lambda ctx, plan: pytest.fail('applied an empty plan'))
    assert module.exited['changed'] is False and module.exited['actions'] == []


def test_an_info_plan_has_no_actions_or_diff_key():
    module = run(FakeModule(diff=True), lambda ctx, req: Plan(result=dict(facts={'x': 1})))
    assert module.exited == dict(changed=False, facts={'x': 1})


def test_parse_gives_the_request_and_its_error_names_the_field():
    seen = []
    run(FakeModule(params={'n': '3'}), lambda ctx, req: seen.append(req) or Plan(),
        parse=lambda params: dict(n=int(params['n'])))
    assert seen == [{'n': 3}]

    def bad(params):
        raise ParamError("peers[2].remote_ip: 'x' is not an IP address")
    module = run(FakeModule(), lambda ctx, req: pytest.fail('planned after a bad parse'),
                 parse=bad)
    assert module.failed == dict(msg="peers[2].remote_ip: 'x' is not an IP address",
                                 changed=False, field='peers[2].remote_ip')


def test_an_invocation_given_replaces_ansibles_echo_on_exit_and_on_failure():
    given = {'module_args': {'n': 1}}
    module = run(FakeModule(), lambda ctx, req: a_plan(), lambda ctx, plan: None,
                 invocation=given)
    assert module.exited['invocation'] == given and module.exited['thing'] == 'x'

    def bad(params):
        raise ParamError('n: bad')
    module = run(FakeModule(), lambda ctx, req: Plan(), parse=bad, invocation=given)
    assert module.failed == dict(msg='n: bad', changed=False, field='n', invocation=given)
    # without one, Ansible's own echo (AnsibleModule adds it when the result has none)
    assert 'invocation' not in run(FakeModule(), lambda ctx, req: a_plan(),
                                   lambda ctx, plan: None).exited


def test_context_wraps_plan_and_apply_and_is_closed():
    events = []

    class Context(object):
        def __enter__(self):
            events.append('open')
            return 'ctx'

        def __exit__(self, *exc):
            events.append('close')

    run(FakeModule(), lambda ctx, req: events.append(('plan', ctx)) or a_plan(),
        lambda ctx, plan: events.append(('apply', ctx)), context=Context)
    assert events == ['open', ('plan', 'ctx'), ('apply', 'ctx'), 'close']


def test_a_conflict_plans_again_then_fails_saying_how_often():
    attempts = []

    def plan(ctx, req):
        attempts.append(1)
        raise ConflictError('db: the transaction changed nothing', detail='all ops')
    module = run(FakeModule(verbosity=3), plan)
    assert len(attempts) == RETRIES + 1
    assert module.failed['msg'] == ('db: the transaction changed nothing (tried %d times)\nall ops'
                                    % (RETRIES + 1))
    assert module.failed['changed'] is False


def test_a_conflict_that_clears_succeeds():
    attempts = []

    def apply(ctx, plan):
        attempts.append(1)
        if len(attempts) == 1:
            raise ConflictError('db: conflict')
    module = run(FakeModule(), lambda ctx, req: a_plan(), apply)
    assert len(attempts) == 2 and module.exited['changed'] is True


def test_committed_but_failed_says_changed_and_keeps_detail_for_vvv():
    def apply(ctx, plan):
        raise OvsdbError('db: committed; ovs-vswitchd did not catch up', changed=True,
                         detail='the ops')
    module = run(FakeModule(), lambda ctx, req: a_plan(), apply)
    assert module.failed == dict(msg='db: committed; ovs-vswitchd did not catch up', changed=True)


def test_what_still_holds_after_a_failure_is_returned_beside_the_message():
    def apply(ctx, plan):
        raise ModuleError('path: cannot write /etc/x', field='path', changed=True,
                          result=dict(backup_file='/etc/x.bak', changed=False, msg='no'))
    module = run(FakeModule(), lambda ctx, req: a_plan(), apply)
    assert module.failed == dict(msg='path: cannot write /etc/x', changed=True, field='path',
                                 backup_file='/etc/x.bak')


def test_a_bug_is_not_dressed_as_an_input_error():
    def plan(ctx, req):
        return {}['missing']
    with pytest.raises(KeyError):
        run_module(FakeModule(), plan)


def test_every_operator_error_is_a_module_error():
    from ansible_collections.cloudstack.ovs.plugins.module_utils.extraconfig_codec import (
        ExtraConfigError,
    )
    from ansible_collections.cloudstack.ovs.plugins.module_utils.properties import PropertiesError
    for error in (ParamError, OvsdbError, ConflictError, ExtraConfigError, PropertiesError):
        assert issubclass(error, ModuleError), error
    assert issubclass(ExtraConfigError, ValueError)
