# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Options shared by every module that talks to the CloudStack management server's API."""


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options:
  api_url:
    description:
      - URL of the CloudStack API, for example C(https://cloud.example.com/client/api).
      - If not given, the E(CLOUDSTACK_ENDPOINT) environment variable is used.
    type: str
    required: true
  api_key:
    description:
      - API key of a root admin account.
      - If not given, the E(CLOUDSTACK_KEY) environment variable is used.
    type: str
    required: true
  api_secret:
    description:
      - Secret key that belongs to O(api_key); it signs every request and is never sent.
      - If not given, the E(CLOUDSTACK_SECRET) environment variable is used.
    type: str
    required: true
  api_timeout:
    description:
      - Seconds to wait for one HTTP answer of the management server.
      - If not given, the E(CLOUDSTACK_TIMEOUT) environment variable is used, then 10.
    type: int
    default: 10
notes:
  - Requests are signed as CloudStack documents it (HMAC-SHA1, C(signatureVersion=3) with an
    expiry of 10 minutes) and sent with ansible-core's own HTTP helper; no extra Python library is
    needed. HTTPS certificates are verified against the system's CA store.
  - Asynchronous commands are followed with C(queryAsyncJobResult) for up to 10 minutes.
  - The same environment variables as the C(ngine_io.cloudstack) modules are read, so one set of
    credentials serves both.
'''
