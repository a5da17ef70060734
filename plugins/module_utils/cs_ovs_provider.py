# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Enabling CloudStack's Ovs network service provider: the ``cs_ovs_provider`` module's steps.

:func:`provider_request` (parse) checks the names, :func:`plan_provider` (plan) reads the zone,
the physical network, the provider and its element and returns the ``Plan`` whose ops are
the API calls (:func:`plan_ovs_provider`, pure), :func:`apply_provider` (apply) makes them in
order. The context is ``cloudstack_api.cloudstack_context``, the API client.

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

from ansible_collections.cloudstack.ovs.plugins.module_utils.cloudstack_api import (
    CloudStackError,
    find_by_name_or_id,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.plan import Plan
from ansible_collections.cloudstack.ovs.plugins.module_utils.validate import check_text

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


def provider_request(params):
    """Names go into API requests: refuse NUL before anything is asked."""
    check_text('zone', params['zone'])
    check_text('physical_network', params['physical_network'])
    return params


def read_provider(api, zone, physical_network):
    """Zone, physical network, Ovs provider and its element, as the API lists them."""
    zone_item = find_by_name_or_id(api.list('listZones', 'zone'), 'zone', zone, 'zone')
    network = find_by_name_or_id(
        api.list('listPhysicalNetworks', 'physicalnetwork', zoneid=zone_item['id']),
        'physical_network', physical_network, 'physical network in zone %s' % zone_item['name'])
    nsps = [n for n in api.list('listNetworkServiceProviders', 'networkserviceprovider',
                                physicalnetworkid=network['id'], name=PROVIDER_NAME)
            if n.get('name') == PROVIDER_NAME]
    if not nsps:
        raise CloudStackError.param(
            'physical_network', physical_network, '%s has no %s network service provider; is '
            'the OVS plugin loaded on the management server?' % (network['name'], PROVIDER_NAME))
    nsp = nsps[0]
    elements = api.list('listOvsElements', 'ovselement', nspid=nsp['id'])
    if not elements:
        raise CloudStackError.param(
            'physical_network', physical_network, 'the %s provider %s of %s has no Ovs element '
            '(listOvsElements nspid=%s is empty)' % (PROVIDER_NAME, nsp['id'], network['name'],
                                                     nsp['id']))
    return zone_item, network, nsp, elements[0]


def plan_provider(api, request):
    """The ``Plan``: ops are the steps of :func:`plan_ovs_provider`, ``actions`` their
    descriptions, the diff the provider before and after."""
    zone, network, nsp, element = read_provider(api, request['zone'],
                                                request['physical_network'])
    steps, before, after = plan_ovs_provider(nsp, element, request['state'])
    return Plan(steps, before=before, after=after, actions=[step[2] for step in steps],
                result=dict(provider=after, zone=dict(name=zone.get('name'), id=zone.get('id')),
                            physical_network=dict(
                                name=network.get('name'), id=network.get('id'),
                                isolation_methods=network.get('isolationmethods'))))


def apply_provider(api, planned):
    """The API calls, in order; a failure after a call went through says so (``changed``)."""
    done = []
    for command, params, description in planned.ops:
        try:
            api.call_async(command, **params)
        except CloudStackError as exc:
            # The calls that went through are returned as ``actions``, as before the spine.
            exc.result['actions'] = list(done)
            if done:
                exc.changed = True
                exc.detail = 'done before the failure: %s' % '; '.join(done)
            raise
        done.append(description)
