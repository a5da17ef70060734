# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Enabling CloudStack's Ovs network service provider: the pure planning part.

Facts from apache/cloudstack (read, not copied):

* every physical network gets an ``Ovs`` network service provider (NSP) when it is created,
  in state ``Disabled``, together with an Ovs *element* (``listOvsElements``, filtered by
  ``nspid``) whose ``enabled`` flag is false;
* the element is enabled first (``configureOvsElement id=<element> enabled=true``,
  asynchronous) and then the provider (``updateNetworkServiceProvider id=<nsp> state=Enabled``,
  asynchronous), the order of the VirtualRouter provider, whose server-side ``isReady`` check
  refuses the provider while its element is disabled. The Ovs element's ``isReady`` currently
  answers true regardless, but the element's ``enabled`` flag is what ``listOvsElements``
  reports, so both are brought in line;
* disabling only needs ``updateNetworkServiceProvider state=Disabled``; the element stays
  configured so that enabling again is one call.
"""

PROVIDER_NAME = 'Ovs'


def provider_view(nsp, element):
    """What the module reports about the provider: plain, stable keys."""
    return dict(
        name=nsp.get('name'),
        id=nsp.get('id'),
        state=nsp.get('state'),
        physical_network_id=nsp.get('physicalnetworkid'),
        service_list=list(nsp.get('servicelist') or []),
        element_id=element.get('id'),
        element_enabled=bool(element.get('enabled')),
    )


def plan_ovs_provider(nsp, element, state):
    """Steps that bring the provider to ``state`` (``enabled`` or ``disabled``, the module's
    choices); returns ``(steps, before, after)``.

    A step is ``(command, params, description)``; an empty list means nothing to do.
    """
    before = provider_view(nsp, element)
    after = dict(before)
    steps = []
    if state == 'enabled':
        if not before['element_enabled']:
            steps.append(('configureOvsElement', dict(id=element['id'], enabled=True),
                          'configure Ovs element %s: enabled=true' % element['id']))
            after['element_enabled'] = True
        if before['state'] != 'Enabled':
            steps.append(('updateNetworkServiceProvider', dict(id=nsp['id'], state='Enabled'),
                          'update network service provider Ovs %s: state %s -> Enabled'
                          % (nsp['id'], before['state'])))
            after['state'] = 'Enabled'
    elif before['state'] == 'Enabled':
        steps.append(('updateNetworkServiceProvider', dict(id=nsp['id'], state='Disabled'),
                      'update network service provider Ovs %s: state Enabled -> Disabled'
                      % nsp['id']))
        after['state'] = 'Disabled'
    return steps, before, after
