#!/usr/bin/python
# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)

DOCUMENTATION = r'''
module: cs_ovs_provider
short_description: Enable or disable CloudStack's Ovs network service provider on a physical network
version_added: 0.1.0
description:
  - Enables (or disables) the C(Ovs) network service provider of one physical network of a
    CloudStack zone, through the management server's API. The provider is disabled when the
    physical network is created; CloudStack's OVS plugin needs it enabled before network
    offerings with C(Connectivity) provided by C(Ovs) can be used.
  - To enable, the Ovs element is configured first (C(configureOvsElement) with C(enabled=true))
    and then the provider is enabled (C(updateNetworkServiceProvider) with C(state=Enabled)),
    the order CloudStack uses for the VirtualRouter provider. Steps that are already done are skipped.
  - To disable, only the provider's state is set to C(Disabled).
  - The C(ngine_io.cloudstack.cs_physical_network) module's O(ngine_io.cloudstack.cs_physical_network#module:nsps_enabled)
    cannot do this, because it does not configure the Ovs element.
author:
  - cloudstack.ovs contributors (@cloudstack-ovs)
options:
  zone:
    description:
      - Name or id of the zone.
    type: str
    required: true
  physical_network:
    description:
      - Name or id of the physical network (the one with isolation method C(GRE)).
    type: str
    required: true
  state:
    description:
      - V(enabled) makes the provider usable, V(disabled) stops its use.
    type: str
    choices: [enabled, disabled]
    default: enabled
extends_documentation_fragment:
  - cloudstack.ovs.attributes
  - cloudstack.ovs.cloudstack_api
attributes:
  check_mode:
    description: Reads the zone, the physical network, the provider and its element; changes nothing.
  diff_mode:
    description: Shows the provider's state and its element's C(enabled) flag before and after.
seealso:
  - name: CloudStack OVS plugin guide
    description: Zone configuration and enabling the service provider.
    link: https://docs.cloudstack.apache.org/en/latest/plugins/ovs-plugin.html
  - module: ngine_io.cloudstack.cs_physical_network
'''

EXAMPLES = r'''
- name: Enable the Ovs provider of the GRE physical network
  cloudstack.ovs.cs_ovs_provider:
    api_url: https://cloud.example.com/client/api
    api_key: "{{ cloudstack_api_key }}"
    api_secret: "{{ cloudstack_api_secret }}"
    zone: zone1
    physical_network: gre-guest

- name: Same, credentials from CLOUDSTACK_ENDPOINT, CLOUDSTACK_KEY, CLOUDSTACK_SECRET
  cloudstack.ovs.cs_ovs_provider:
    zone: zone1
    physical_network: gre-guest

- name: Disable it again
  cloudstack.ovs.cs_ovs_provider:
    zone: zone1
    physical_network: gre-guest
    state: disabled

- name: Self-signed management server certificate; one module_defaults for both collections
  module_defaults:
    group/ngine_io.cloudstack.cloudstack: &cloudstack_api
      api_url: https://cloud.example.com/client/api
      api_key: "{{ cloudstack_api_key }}"
      api_secret: "{{ cloudstack_api_secret }}"
      # Its certificate as the CA to trust; or, less safe, validate_certs: false
      api_verify_ssl_cert: /etc/pki/cloudstack/management-server.pem
    group/cloudstack.ovs.cloudstack: *cloudstack_api
  block:
    - name: Enable the Ovs provider
      cloudstack.ovs.cs_ovs_provider:
        zone: zone1
        physical_network: gre-guest
'''

RETURN = r'''
provider:
  description: The provider as it is after the call (as it would be, in check mode).
  returned: success
  type: dict
  contains:
    name:
      description: Always C(Ovs).
      type: str
      returned: success
    id:
      description: Id of the network service provider.
      type: str
      returned: success
    state:
      description: C(Enabled), C(Disabled) or C(Shutdown).
      type: str
      returned: success
    physical_network_id:
      description: Id of the physical network.
      type: str
      returned: success
    service_list:
      description: Services the provider offers.
      type: list
      elements: str
      returned: success
    element_id:
      description: Id of the provider's Ovs element.
      type: str
      returned: success
    element_enabled:
      description: Whether the Ovs element is configured as enabled.
      type: bool
      returned: success
  sample:
    name: Ovs
    id: 9f6c3e8e-4b2a-4c55-9b6e-0d1f2a3b4c5d
    state: Enabled
    physical_network_id: 3f8f25cd-c498-443f-9058-438cfbcbff50
    service_list: [Connectivity, StaticNat, PortForwarding, Lb]
    element_id: 1b2c3d4e-0000-4000-8000-000000000001
    element_enabled: true
zone:
  description: The zone's name and id.
  returned: success
  type: dict
  sample: {name: zone1, id: 4e7d7a1e-5b1a-4a2b-9c3d-0e1f2a3b4c5d}
physical_network:
  description: The physical network's name, id and isolation methods.
  returned: success
  type: dict
  sample: {name: gre-guest, id: 3f8f25cd-c498-443f-9058-438cfbcbff50, isolation_methods: GRE}
actions:
  description: The API calls made (in check mode, that would be made), one line each.
  returned: always
  type: list
  elements: str
  sample:
    - "configure Ovs element 1b2c3d4e-0000-4000-8000-000000000001: enabled=true"
    - "update network service provider Ovs 9f6c3e8e-4b2a-4c55-9b6e-0d1f2a3b4c5d: state Disabled -> Enabled"
diff:
  description: The provider before and after, when diff mode is on.
  returned: when diff mode is on
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudstack.ovs.plugins.module_utils.cloudstack_api import (
    cloudstack_argument_spec,
    cloudstack_context,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.cs_ovs_provider import (
    apply_provider,
    plan_provider,
    provider_request,
)
from ansible_collections.cloudstack.ovs.plugins.module_utils.plan import run_module


def main():
    argument_spec = dict(
        zone=dict(type='str', required=True),
        physical_network=dict(type='str', required=True),
        state=dict(type='str', default='enabled', choices=['enabled', 'disabled']),
    )
    argument_spec.update(cloudstack_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    run_module(module, plan_provider, apply_provider, parse=provider_request,
               context=cloudstack_context(module))


if __name__ == '__main__':
    main()
