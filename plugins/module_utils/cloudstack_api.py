# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""A small client for the Apache CloudStack API: no library beyond ansible-core and Python.

Written from the API's documented behaviour ("Signing API Requests", "Asynchronous Commands"
in CloudStack's developer guide):

* every request is a GET of ``<api_url>?command=<name>&<params>&response=json&apiKey=<key>``
  plus ``signature``: the parameters sorted by name, each value URL-encoded the way the
  management server's Java ``URLEncoder`` does it (space as ``%20``), the whole string
  lower-cased, HMAC-SHA1 with the secret key, Base64 (the server rebuilds exactly this
  string from the request it received and compares);
* ``signatureVersion=3`` with ``expires`` limits how long a signed URL stays valid;
* a successful answer is ``{"<command lower-cased>response": {...}}``; a failed one has the
  same shape with ``errorcode`` and ``errortext`` (HTTP 401 for bad credentials, 431 for bad
  parameters, 530 for a server-side failure);
* asynchronous commands answer ``{"jobid": ...}``; ``queryAsyncJobResult`` reports
  ``jobstatus`` 0 (pending), 1 (done, ``jobresult`` holds the object) or 2 (failed,
  ``jobresult`` holds ``errorcode``/``errortext``).
"""

import base64
import datetime
import hashlib
import hmac
import json
import socket
import time

from urllib.error import HTTPError, URLError
from urllib.parse import quote

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.urls import open_url

# How long a signed request stays valid (signatureVersion 3).
SIGNATURE_LIFETIME = 600
# How long to wait for an asynchronous job, and how often to ask.
JOB_WAIT = 600
JOB_POLL_FIRST = 0.2
JOB_POLL_MAX = 2.0


def cloudstack_argument_spec():
    """Argument spec of the options documented in the ``cloudstack.ovs.cloudstack_api`` fragment."""
    return dict(
        api_url=dict(type='str', required=True, fallback=(env_fallback, ['CLOUDSTACK_ENDPOINT'])),
        api_key=dict(type='str', required=True, no_log=True,
                     fallback=(env_fallback, ['CLOUDSTACK_KEY'])),
        api_secret=dict(type='str', required=True, no_log=True,
                        fallback=(env_fallback, ['CLOUDSTACK_SECRET'])),
        api_timeout=dict(type='int', default=10, fallback=(env_fallback, ['CLOUDSTACK_TIMEOUT'])),
    )


class CloudStackApiError(Exception):
    """The management server refused or failed a call; the message is meant for the operator."""

    def __init__(self, command, errorcode, errortext, http_status=None):
        self.command = command
        self.errorcode = errorcode
        self.errortext = errortext
        self.http_status = http_status
        super(CloudStackApiError, self).__init__(
            '%s: CloudStack error %s: %s' % (command, errorcode, errortext))


# ---------------------------------------------------------------- signing (pure)

def java_url_encode(value):
    """Encode ``value`` as java.net.URLEncoder does (UTF-8), but with a space as ``%20``.

    The server rebuilds the signed string this way; Python's ``quote`` differs only in
    leaving ``~`` alone, which Java encodes.
    """
    return quote(value, safe='*').replace('~', '%7E')


def api_value(value):
    """The string CloudStack expects for a parameter value."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (list, tuple)):
        return ','.join(api_value(v) for v in value)
    return str(value)


def signed_string(params):
    """The string that is signed: ``name=encoded value`` pairs sorted by name, all lower-case.

    The server sorts the names as they were sent (case-sensitively, Java's String order,
    which is Python's for these ASCII names) and lower-cases the joined string afterwards.
    """
    pairs = sorted((k, java_url_encode(v)) for k, v in params.items())
    return '&'.join('%s=%s' % pair for pair in pairs).lower()


def signature(params, secret):
    """Base64 of HMAC-SHA1 over ``signed_string(params)`` with ``secret``."""
    digest = hmac.new(secret.encode('utf-8'), signed_string(params).encode('utf-8'),
                      hashlib.sha1).digest()
    return base64.b64encode(digest).decode('ascii')


def signed_query(command, params, api_key, secret, now=None):
    """The full query string of a signed request for ``command`` with ``params``.

    ``now`` (a UTC datetime) fixes the ``expires`` stamp, for tests.
    """
    args = dict((k, api_value(v)) for k, v in params.items() if v is not None)
    args.update(command=command, response='json', apiKey=api_key, signatureVersion='3')
    now = now or datetime.datetime.now(datetime.timezone.utc)
    expires = now + datetime.timedelta(seconds=SIGNATURE_LIFETIME)
    args['expires'] = expires.strftime('%Y-%m-%dT%H:%M:%S+0000')
    args['signature'] = signature(args, secret)
    return '&'.join('%s=%s' % (k, java_url_encode(v)) for k, v in sorted(args.items()))


def response_body(command, document):
    """The inner object of ``{"<command>response": {...}}``.

    Raises CloudStackApiError when it carries ``errorcode``.
    """
    if not isinstance(document, dict):
        raise CloudStackApiError(command, 'invalid', 'the answer is not a JSON object: %r'
                                 % (document,))
    key = command.lower() + 'response'
    body = document.get(key)
    if body is None:
        # Error answers of some failures (e.g. an unknown command) use another name.
        inner = [v for k, v in document.items() if k.endswith('response') and isinstance(v, dict)]
        if len(inner) == 1:
            body = inner[0]
        else:
            raise CloudStackApiError(command, 'invalid', 'the answer has no %r: %r' % (key, document))
    if 'errorcode' in body:
        raise CloudStackApiError(command, body.get('errorcode'), body.get('errortext', ''))
    return body


def job_outcome(command, job):
    """Interpret one ``queryAsyncJobResult`` answer: None while pending, else the jobresult."""
    status = job.get('jobstatus')
    if status == 0:
        return None
    result = job.get('jobresult') or {}
    if status == 1:
        return result
    raise CloudStackApiError(command, result.get('errorcode', job.get('jobresultcode')),
                             result.get('errortext', 'asynchronous job %s failed'
                                        % job.get('jobid')))


# ---------------------------------------------------------------- client

class CloudStackClient(object):
    """Signed calls against one management server. ``sleep`` is injectable for tests."""

    def __init__(self, api_url, api_key, api_secret, timeout=10, sleep=time.sleep):
        if not api_url or not api_url.startswith(('http://', 'https://')):
            raise ValueError('api_url: must be an http(s) URL such as '
                             'https://cloud.example.com/client/api (got %s)' % (api_url,))
        self.api_url = api_url
        self.api_key = api_key
        self.api_secret = api_secret
        self.timeout = timeout
        self.sleep = sleep

    def call(self, command, **params):
        """One signed GET; returns the inner response object or raises CloudStackApiError."""
        url = '%s%s%s' % (self.api_url, '&' if '?' in self.api_url else '?',
                          signed_query(command, params, self.api_key, self.api_secret))
        status = None
        try:
            handle = open_url(url, headers={'Accept': 'application/json'}, timeout=self.timeout,
                              validate_certs=True, follow_redirects='none')
            status = handle.getcode()
            raw = handle.read()
        except HTTPError as exc:
            # Errors (401 bad credentials, 431 bad parameter, 530 ...) carry a JSON body too.
            status = exc.code
            raw = exc.read()
        except (URLError, socket.timeout, OSError) as exc:
            reason = getattr(exc, 'reason', exc)
            raise CloudStackApiError(command, 'unreachable', 'api_url %s: %s'
                                     % (self.api_url, reason))
        try:
            document = json.loads(raw.decode('utf-8'))
        except ValueError:
            raise CloudStackApiError(command, status, 'HTTP %s with a body that is not JSON: %r'
                                     % (status, raw[:200]), http_status=status)
        try:
            return response_body(command, document)
        except CloudStackApiError as exc:
            exc.http_status = status
            raise

    def list(self, command, item_key, **params):
        """All items of a list command (``count`` plus ``<item_key>``).

        The first request carries no ``pagesize``: the server answers with up to its
        ``default.page.size`` items (and refuses a larger ``pagesize``), so further pages are
        asked for with the size the first answer had.
        """
        body = self.call(command, **params)
        items = list(body.get(item_key, []))
        total = body.get('count', len(items))
        pagesize = len(items)
        page = 1
        while pagesize and len(items) < total:
            page += 1
            chunk = self.call(command, page=page, pagesize=pagesize, **params).get(item_key, [])
            if not chunk:
                break
            items.extend(chunk)
        return items

    def call_async(self, command, result_key=None, **params):
        """Start an asynchronous command and wait for its job; returns the job's result object."""
        started = self.call(command, **params)
        jobid = started.get('jobid')
        if jobid is None:
            # Some servers answer synchronously when the work is already done.
            return started.get(result_key, started) if result_key else started
        deadline = time.time() + JOB_WAIT
        interval = JOB_POLL_FIRST
        while True:
            job = self.call('queryAsyncJobResult', jobid=jobid)
            result = job_outcome(command, job)
            if result is not None:
                return result.get(result_key, result) if result_key else result
            if time.time() > deadline:
                raise CloudStackApiError(command, 'timeout', 'job %s still pending after %d s'
                                         % (jobid, JOB_WAIT))
            self.sleep(interval)
            interval = min(interval * 2, JOB_POLL_MAX)


def client_from_module(module):
    """A CloudStackClient from the module's ``api_*`` options."""
    p = module.params
    return CloudStackClient(p['api_url'], p['api_key'], p['api_secret'], timeout=p['api_timeout'])


def find_by_name_or_id(items, field, wanted, what):
    """The one item whose ``name`` (exactly) or ``id`` is ``wanted``.

    CloudStack's ``name`` filters match by substring on some list commands; this picks the
    exact match and raises LookupError naming the field otherwise.
    """
    matches = [i for i in items if wanted in (i.get('name'), i.get('id'))]
    if len(matches) == 1:
        return matches[0]
    names = sorted(i.get('name', '?') for i in items)
    if not matches:
        raise LookupError('%s: no %s of that name or id (got %s; there are: %s)'
                          % (field, what, wanted, ', '.join(names) or 'none'))
    raise LookupError('%s: %d %ss are named %s; give the id instead' % (field, len(matches), what,
                                                                        wanted))
