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
  api_http_method:
    description:
      - HTTP method of the requests; with V(post) the parameters travel in the request body
        instead of the URL.
      - If not given, the E(CLOUDSTACK_METHOD) environment variable is used, then V(get).
    type: str
    choices: [get, post]
    default: get
    version_added: 0.2.0
  api_timeout:
    description:
      - Seconds for one request and its whole answer (not for each read of it) - a server that
        sends nothing fails with C(no answer within api_timeout), one that sends its answer too
        slowly with C(slow answer). An asynchronous job is followed for up to 600 seconds, each
        of its polls bounded by O(api_timeout).
      - If not given, the E(CLOUDSTACK_TIMEOUT) environment variable is used, then 10.
    type: int
    default: 10
  api_verify_ssl_cert:
    description:
      - Path of a CA certificate file (PEM) to verify the management server's certificate
        with, for a server whose certificate was not issued by a public CA (a self-signed one
        is its own CA). It is used even when O(validate_certs=false).
      - If not given, the E(CLOUDSTACK_VERIFY) environment variable is used; without either,
        the CA bundle of the Python C(requests) library is used (or the file named by
        E(REQUESTS_CA_BUNDLE)).
    type: str
    version_added: 0.2.0
  validate_certs:
    description:
      - If V(false), the management server's TLS certificate is not verified. Only for a
        server you control, for example a new zone with a self-signed certificate; giving its
        certificate in O(api_verify_ssl_cert) is safer.
      - If not given, the value of the E(CLOUDSTACK_DANGEROUS_NO_TLS_VERIFY) environment
        variable is used, then V(true). As in C(ngine_io.cloudstack), the variable's value is
        this option's value, whatever its name suggests - V(false) turns verification off,
        V(true) keeps it on; prefer this option to the variable.
    type: bool
    default: true
    version_added: 0.2.0
requirements:
  - cs (the Python library, on the host that runs the module; tested with 3.4.1)
notes:
  - The options, their defaults and their environment variables are those of the
    C(ngine_io.cloudstack) collection, so one C(module_defaults) entry (or one set of
    E(CLOUDSTACK_*) variables) serves both; see C(playbooks/zone.yml).
  - Requests are signed and sent by the C(cs) library (HMAC-SHA1, C(signatureVersion=3)).
  - Asynchronous commands are followed with C(queryAsyncJobResult) for up to 10 minutes.
'''
