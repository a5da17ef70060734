# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The CloudStack management server's API through the ``cs`` library.

``cs`` (the library ngine_io.cloudstack uses) signs the requests, sends them with ``requests``
and follows asynchronous jobs. This file adds what a module needs on top of it:

* the connection options of the ``cloudstack.ovs.cloudstack_api`` doc fragment, with the names,
  defaults and environment variables of ngine_io.cloudstack, so one ``module_defaults`` group
  serves modules of both collections;
* ``CloudStackError``, the one exception a module reports as a failure: an API call refused,
  failed or not answered (it names the command and carries CloudStack's ``errorcode`` and
  ``errortext``), or an option naming something the zone does not have (it names the option and
  its value). Anything else raised is a bug and surfaces as one;
* listing every item of a list command, and a bounded wait for asynchronous jobs;
* every answer checked for CloudStack's shape (a JSON object with one key,
  ``<command>response``, holding an object) before ``cs`` reads it, so another answer is an
  error naming the command, never a crash in ``cs``;
* ``api_timeout`` as a bound on each whole request and its whole answer (``requests`` bounds
  each read only: a server sending a byte at a time held a call for minutes), counting the bytes
  that came so the message tells "no answer" from "slow answer".
"""

import io
import json
import os
import re
import socket
import time
import traceback
import warnings
from contextlib import contextmanager

from ansible.module_utils.basic import env_fallback, missing_required_lib

from ansible_collections.cloudstack.ovs.plugins.module_utils.errors import ModuleError, ParamError

CS_IMPORT_ERROR = None
try:
    import requests
    from cs import CloudStack, CloudStackApiException, CloudStackException
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
    from urllib3.exceptions import InsecureRequestWarning
except ImportError:  # pragma: no cover - reported through missing_required_lib
    CS_IMPORT_ERROR = traceback.format_exc()
    # the classes below still define; connect() reports the missing library first
    HTTPAdapter = _Session = object
    _RequestException = Exception
else:
    _Session = requests.Session
    _RequestException = requests.exceptions.RequestException

# How long to wait for an asynchronous job, and how often to ask queryAsyncJobResult.
JOB_WAIT = 600
JOB_POLL_INTERVAL = 1.0
# validate_certs' variable. Read as ngine_io.cloudstack reads it (its value is validate_certs:
# false turns verification off), not as its name and cs's read_config suggest, so that one
# environment means the same to the modules of both collections.
NO_TLS_VERIFY_ENV = 'CLOUDSTACK_DANGEROUS_NO_TLS_VERIFY'
# The ssl module raises errors whose text names the problem; requests wraps them in errors whose
# text carries the whole request URL (with its apiKey and signature for GET requests).
_PLAIN_ERROR_MODULES = ('builtins', 'ssl', 'socket')


def cloudstack_argument_spec():
    """Argument spec of the options documented in the ``cloudstack.ovs.cloudstack_api`` fragment."""
    return dict(
        api_url=dict(type='str', required=True, fallback=(env_fallback, ['CLOUDSTACK_ENDPOINT'])),
        api_key=dict(type='str', required=True, no_log=True,
                     fallback=(env_fallback, ['CLOUDSTACK_KEY'])),
        api_secret=dict(type='str', required=True, no_log=True,
                        fallback=(env_fallback, ['CLOUDSTACK_SECRET'])),
        api_http_method=dict(type='str', default='get', choices=['get', 'post'],
                             fallback=(env_fallback, ['CLOUDSTACK_METHOD'])),
        api_timeout=dict(type='int', default=10, fallback=(env_fallback, ['CLOUDSTACK_TIMEOUT'])),
        api_verify_ssl_cert=dict(type='str', fallback=(env_fallback, ['CLOUDSTACK_VERIFY'])),
        validate_certs=dict(type='bool', default=True, fallback=(env_fallback, [NO_TLS_VERIFY_ENV])),
    )


class CloudStackError(ModuleError):
    """What the operator has to read; ``str()`` is the whole message.

    ``command``, ``errorcode`` and ``errortext`` are set for API failures, ``field`` and
    ``value`` for an option that names something CloudStack does not have.
    """

    def __init__(self, message, command=None, errorcode=None, errortext=None, field=None,
                 value=None):
        super(CloudStackError, self).__init__(message, field=field)
        self.command = command
        self.errorcode = errorcode
        self.errortext = errortext
        self.value = value

    @classmethod
    def api(cls, command, errorcode, errortext):
        if errorcode is None:
            message = '%s: %s' % (command, errortext)
        else:
            message = '%s: CloudStack error %s: %s' % (command, errorcode, errortext)
        return cls(message, command=command, errorcode=errorcode, errortext=errortext)

    @classmethod
    def param(cls, field, value, why):
        return cls('%s: %s (got %s)' % (field, why, value), field=field, value=value)


def _plain_cause(exc):
    """The innermost error of ``exc``'s chain raised by Python itself (socket, ssl, OS): its
    text says what went wrong without the request URL that requests and urllib3 add. Without
    one, ``exc``'s own text with the query strings of URLs cut off."""
    found, seen, todo = None, set(), [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if type(current).__module__ in _PLAIN_ERROR_MODULES:
            found = current
        links = [getattr(current, 'reason', None), current.__cause__, current.__context__]
        links.extend(current.args)
        todo.extend(link for link in links if isinstance(link, BaseException))
    return found if found is not None else re.sub(r'\?[^\s\'"]*', '', str(exc))


class NotCloudStackAnswer(_RequestException):
    """An answer in JSON that is not CloudStack's shape; raised before ``cs`` reads it."""


class _Progress(object):
    """The one request in flight: its deadline (``api_timeout`` from when it is sent) and the
    bytes of its answer received so far."""

    def __init__(self, limit):
        self.limit = limit
        self.deadline = None
        self.received = 0
        self.expired = False

    def start(self):
        self.deadline = time.monotonic() + self.limit
        self.received = 0
        self.expired = False

    def remaining(self):
        return self.limit if self.deadline is None else self.deadline - time.monotonic()


class _CountingReader(io.RawIOBase):
    """The answer's bytes off the socket, each read bounded by what is left of the deadline."""

    def __init__(self, raw, sock, progress):
        super(_CountingReader, self).__init__()
        self._raw = raw
        self._sock = sock
        self._progress = progress

    def readable(self):
        return True

    def readinto(self, buf):
        left = self._progress.remaining()
        if left <= 0:
            self._progress.expired = True
            raise socket.timeout('the whole answer did not come within api_timeout')
        self._sock.settimeout(left)
        try:
            count = self._raw.readinto(buf)
        except socket.timeout:
            self._progress.expired = self._progress.remaining() <= 0.05
            raise
        self._progress.received += count or 0
        return count

    def close(self):
        self._raw.close()
        super(_CountingReader, self).close()


class _CountingSocket(object):
    """A connection's socket whose reader (``makefile('rb')``, what ``http.client`` reads the
    answer from) counts bytes and keeps the deadline; everything else is the socket's."""

    def __init__(self, sock, progress):
        self._sock = sock
        self._progress = progress

    def __getattr__(self, name):
        return getattr(self._sock, name)

    def makefile(self, mode='r', *args, **kwargs):
        if mode != 'rb':
            return self._sock.makefile(mode, *args, **kwargs)
        # the socket's own unbuffered reader keeps the socket open while the answer is read
        # (http.client closes the connection of a "Connection: close" answer before that)
        return io.BufferedReader(_CountingReader(self._sock.makefile('rb', buffering=0),
                                                 self._sock, self._progress))


def _pool_class(pool, connection, progress):
    class Connection(connection):
        def connect(self):
            super(Connection, self).connect()
            self.sock = _CountingSocket(self.sock, progress)

    return type('Deadline' + pool.__name__, (pool,), dict(ConnectionCls=Connection))


class _DeadlineAdapter(HTTPAdapter):
    def __init__(self, progress):
        self._progress = progress
        super(_DeadlineAdapter, self).__init__()

    def init_poolmanager(self, *args, **kwargs):
        super(_DeadlineAdapter, self).init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            'http': _pool_class(HTTPConnectionPool, HTTPConnection, self._progress),
            'https': _pool_class(HTTPSConnectionPool, HTTPSConnection, self._progress)}


def check_answer(text):
    """Why ``text`` (an answer in JSON) is not CloudStack's shape, or None when it is (or is no
    JSON at all: ``cs`` says so itself). CloudStack answers ``{"<command>response": {...}}``;
    ``queryAsyncJobResult``'s object has ``jobstatus``."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or len(data) != 1:
        return 'got %s' % _short(text)
    (key, inner), = data.items()
    if not key.endswith('response') or not isinstance(inner, dict):
        return 'got %s' % _short(text)
    if key == 'queryasyncjobresultresponse' and 'errorcode' not in inner and \
            not isinstance(inner.get('jobstatus'), int):
        return 'queryAsyncJobResult without a jobstatus: got %s' % _short(text)
    return None


def _short(text, limit=120):
    text = text if isinstance(text, str) else repr(text)
    return text if len(text) <= limit else text[:limit - 3] + '...'


def _check_answer_hook(response, **_kwargs):
    ctype = response.headers.get('Content-Type', '')
    if ctype.startswith(('application/json', 'text/javascript')):
        why = check_answer(response.content.decode('utf-8', 'replace'))
        if why:
            raise NotCloudStackAnswer(why)
    return response


class DeadlineSession(_Session):
    """The ``requests`` session ``cs`` sends through: each request and its whole answer within
    ``limit`` seconds (``progress`` tells what came), every answer's shape checked."""

    def __init__(self, limit):
        super(DeadlineSession, self).__init__()
        self.progress = _Progress(limit)
        adapter = _DeadlineAdapter(self.progress)
        self.mount('http://', adapter)
        self.mount('https://', adapter)

    def send(self, request, **kwargs):
        # cs prepares its requests itself: the session's own hooks would not be merged in
        if _check_answer_hook not in request.hooks['response']:
            request.register_hook('response', _check_answer_hook)
        self.progress.start()
        return super(DeadlineSession, self).send(request, **kwargs)


class CloudStackApi(object):
    """Calls through one ``cs.CloudStack``; every failure becomes a CloudStackError."""

    def __init__(self, cs):
        self.cs = cs

    def call(self, command, **params):
        """One request; the inner object of CloudStack's answer. With ``fetch_result=True``
        an asynchronous command's job is followed (for up to cs's ``job_timeout`` seconds) and
        its result returned."""
        try:
            with warnings.catch_warnings():
                # validate_certs false: connect() warns once, not urllib3 on every request.
                warnings.simplefilter('ignore', InsecureRequestWarning)
                return getattr(self.cs, command)(**params)
        except (CloudStackException, requests.exceptions.RequestException) as exc:
            raise self.error(command, exc)

    def call_async(self, command, **params):
        """An asynchronous command, waited for: its job's result."""
        return self.call(command, fetch_result=True, **params)

    def list(self, command, item_key, **params):
        """Every item of a list command (``count`` plus ``<item_key>``).

        The first request has no ``pagesize``: the server answers with up to its
        ``default.page.size`` items, and refuses a ``pagesize`` above that setting (cs's
        ``fetch_list`` always asks for 500), so further pages use the size of the first.
        """
        body = self.call(command, **params)
        items = self._items(command, item_key, body)
        total = body.get('count', len(items))
        if isinstance(total, bool) or not isinstance(total, int):
            raise self.not_cloudstack(command, 'count is %s, not a number' % _short(repr(total)))
        pagesize = len(items)
        page = 1
        while pagesize and len(items) < total:
            page += 1
            chunk = self._items(command, item_key,
                                self.call(command, page=page, pagesize=pagesize, **params))
            if not chunk:
                break
            items.extend(chunk)
        return items

    def _items(self, command, item_key, body):
        if not isinstance(body, dict):
            raise self.not_cloudstack(command, 'got %s' % _short(repr(body)))
        items = body.get(item_key, [])
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise self.not_cloudstack(command, '%s is %s, not a list of objects'
                                      % (item_key, _short(repr(items))))
        return items

    def not_cloudstack(self, command, why):
        """The answer is JSON, but not what CloudStack answers to ``command``."""
        return CloudStackError.api(command, None, 'api_url %s answered with something that '
                                   'is not CloudStack\'s answer to %s (an object with one key, '
                                   '%sresponse, holding an object): %s'
                                   % (self.cs.endpoint, command, command.lower(), why))

    def error(self, command, exc):
        """A CloudStackError for an exception cs (or requests under it) raised in ``command``."""
        url = self.cs.endpoint
        if isinstance(exc, NotCloudStackAnswer):
            return self.not_cloudstack(command, str(exc))
        progress = getattr(getattr(self.cs, 'session', None), 'progress', None)
        if progress is not None and progress.expired:
            if progress.received:
                return CloudStackError.api(
                    command, None, 'api_url %s: slow answer: the management server sent %d '
                    'bytes but not its whole answer within api_timeout (%d s)'
                    % (url, progress.received, self.cs.timeout))
            return CloudStackError.api(
                command, None, 'api_url %s: no answer within api_timeout (%d s): the '
                'management server took the request and sent nothing' % (url, self.cs.timeout))
        if isinstance(exc, CloudStackApiException):
            error = exc.error if isinstance(exc.error, dict) else {}
            text = error.get('errortext') or str(exc.error)
            if exc.args and exc.args[0] == 'Job failure':
                text = 'asynchronous job failed: %s' % text
            return CloudStackError.api(command, error.get('errorcode'), text)
        if isinstance(exc, CloudStackException):
            if exc.args and exc.args[0] == 'Timeout waiting for async job result':
                return CloudStackError.api(command, None, 'job %s still pending after %d s'
                                           % (exc.args[1], self.cs.job_timeout))
            # An answer that is not CloudStack's JSON: api_url is not the API.
            return CloudStackError.api(command, None, 'api_url %s: %s'
                                       % (url, '; '.join(str(a) for a in exc.args)))
        cause = _plain_cause(exc)
        if isinstance(exc, requests.exceptions.SSLError):
            return CloudStackError.api(
                command, None, 'api_url %s: TLS certificate not accepted: %s; for a management '
                'server with a self-signed certificate give that certificate (or its CA) in '
                'api_verify_ssl_cert, or set validate_certs to false' % (url, cause))
        if isinstance(exc, requests.exceptions.Timeout):
            return CloudStackError.api(command, None, 'api_url %s: no answer within '
                                       'api_timeout (%d s): %s' % (url, self.cs.timeout, cause))
        return CloudStackError.api(command, None, 'api_url %s: cannot reach the management '
                                   'server: %s' % (url, cause))


def connect(module):
    """A CloudStackApi from the module's options; raises a ``ModuleError`` when cs is missing
    and a ``ParamError`` naming the option when api_url, api_timeout or api_verify_ssl_cert is
    wrong."""
    if CS_IMPORT_ERROR:
        raise ModuleError(missing_required_lib('cs'), detail=CS_IMPORT_ERROR)
    p = module.params
    url = p['api_url']
    if not url.startswith(('http://', 'https://')):
        raise ParamError('api_url: must be an http(s) URL such as '
                         'https://cloud.example.com/client/api (got %s)' % url)
    if p['api_timeout'] <= 0:
        raise ParamError('api_timeout: must be a number of seconds above 0 (got %s)'
                         % p['api_timeout'])
    if p['api_verify_ssl_cert'] and not os.path.exists(p['api_verify_ssl_cert']):
        raise ParamError('api_verify_ssl_cert: no such CA certificate file or directory '
                         '(got %s)' % p['api_verify_ssl_cert'])
    if not p['validate_certs'] and not p['api_verify_ssl_cert']:
        module.warn('validate_certs is false: the TLS certificate of %s is not verified' % url)
    # As ngine_io.cloudstack: a CA file in api_verify_ssl_cert is used even when
    # validate_certs is false (cs lets verify win over dangerous_no_tls_verify).
    cs = CloudStack(endpoint=url, key=p['api_key'], secret=p['api_secret'],
                    timeout=p['api_timeout'], method=p['api_http_method'],
                    verify=p['api_verify_ssl_cert'],
                    dangerous_no_tls_verify=not p['validate_certs'],
                    job_timeout=JOB_WAIT, poll_interval=JOB_POLL_INTERVAL,
                    session=DeadlineSession(p['api_timeout']))
    return CloudStackApi(cs)


def cloudstack_context(module):
    """The ``context`` factory of a module that talks to CloudStack (``plan.run_module``):
    plan and apply share one ``CloudStackApi``; it holds no connection to close."""
    @contextmanager
    def context():
        yield connect(module)
    return context


def find_by_name_or_id(items, field, wanted, what):
    """The one item whose ``name`` (exactly) or ``id`` is ``wanted``.

    CloudStack's ``name`` filters match by substring on some list commands; this picks the
    exact match and raises CloudStackError naming the field otherwise.
    """
    matches = [i for i in items if wanted in (i.get('name'), i.get('id'))]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        names = sorted(i.get('name', '?') for i in items)
        raise CloudStackError.param(field, wanted, 'no %s of that name or id; there are: %s'
                                    % (what, ', '.join(names) or 'none'))
    ids = ', '.join(i.get('id', '?') for i in matches)
    raise CloudStackError.param(field, wanted, 'more than one %s has that name (ids %s); give '
                                'the id instead' % (what, ids))
