# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""A tiny stand-in for a CloudStack management server's API, for contract tests.

It listens on 127.0.0.1 (a free port), over HTTP or, with ``start(tls=...)``, HTTPS with a
self-signed certificate made by ``self_signed_certificate`` at test time; takes GET (parameters
in the query) and POST (parameters in a form body) requests; checks every request's signature
the way the management server does (rebuilt from the parameters it received, independently of
the client), and answers with the JSON shapes of CloudStack's API reference:

* ``{"<command>response": {"count": N, "<item>": [...]}}`` for list commands, ``{}`` inside
  when nothing matches;
* ``{"<command>response": {"jobid": ...}}`` for asynchronous commands, then
  ``queryAsyncJobResult`` with ``jobstatus`` 0 (pending; once, or ``pending_polls`` times),
  then 1 with ``jobresult``;
* errors as ``{"<command>response": {"uuidList": [], "errorcode": N, "cserrorcode": M,
  "errortext": ...}}`` with HTTP status N (401 bad credentials, 431 bad parameter,
  432 unknown command, 530 failed job).

The state is a small in-memory zone: one zone, one GRE physical network with the default
providers (VirtualRouter, Ovs), an Ovs element, traffic types and offerings, and every
request is recorded in ``calls`` so tests can tell reads from writes.
"""

import base64
import copy
import datetime
import hashlib
import hmac
import ipaddress
import json
import os
import ssl
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

API_KEY = 'fake-api-key-0123456789'
API_SECRET = 'fake-secret-key-9876543210'

# Java's URLEncoder leaves only these unencoded (and writes a space as '+', which the
# server turns into %20 before signing).
_JAVA_SAFE = frozenset(b'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-*_')

ASYNC_COMMANDS = {
    'configureOvsElement': 'org.apache.cloudstack.api.command.admin.router.ConfigureOvsElementCmd',
    'configureVirtualRouterElement':
        'org.apache.cloudstack.api.command.admin.router.ConfigureVirtualRouterElementCmd',
    'updateNetworkServiceProvider':
        'org.apache.cloudstack.api.command.admin.network.UpdateNetworkServiceProviderCmd',
    'createPhysicalNetwork':
        'org.apache.cloudstack.api.command.admin.network.CreatePhysicalNetworkCmd',
    'updatePhysicalNetwork':
        'org.apache.cloudstack.api.command.admin.network.UpdatePhysicalNetworkCmd',
    'addTrafficType': 'org.apache.cloudstack.api.command.admin.usage.AddTrafficTypeCmd',
    'updateTrafficType': 'org.apache.cloudstack.api.command.admin.usage.UpdateTrafficTypeCmd',
}
WRITE_COMMANDS = set(ASYNC_COMMANDS) | {
    'createNetworkOffering', 'updateNetworkOffering', 'createServiceOffering',
    'updateServiceOffering'}


def self_signed_certificate(directory, address='127.0.0.1'):
    """Write a new key and a self-signed certificate for ``address`` (its own CA) into
    ``directory``; returns ``(certificate file, key file)``. Uses ``cryptography``, which
    ansible-core depends on."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'fake CloudStack ' + address)])
    now = datetime.datetime.now(datetime.timezone.utc)
    public = key.public_key()
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(address))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_file = os.path.join(directory, 'fake-cloudstack.pem')
    key_file = os.path.join(directory, 'fake-cloudstack.key')
    with open(key_file, 'wb') as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    with open(cert_file, 'wb') as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    return cert_file, key_file


def java_encode(text):
    """URLEncoder.encode(text, "UTF-8") with '+' replaced by %20, written byte by byte."""
    out = []
    for byte in text.encode('utf-8'):
        out.append(chr(byte) if byte in _JAVA_SAFE else '%%%02X' % byte)
    return ''.join(out)


def java_bool(value):
    """Boolean.parseBoolean: 'true' in any case is true, anything else false (cs sends 'True')."""
    return (value or '').lower() == 'true'


def expected_signature(params, secret):
    """The signature the management server computes for the (decoded) request parameters."""
    # The server sorts the names as received (Collections.sort: case-sensitive).
    pairs = sorted(params, key=lambda kv: kv[0])
    text = '&'.join('%s=%s' % (k, java_encode(v)) for k, v in pairs).lower()
    digest = hmac.new(secret.encode(), text.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class ApiError(Exception):
    def __init__(self, code, text, cserrorcode=9999):
        super(ApiError, self).__init__(text)
        self.code = code
        self.text = text
        self.cserrorcode = cserrorcode


def _uuid():
    return str(uuid.uuid4())


def default_state():
    """A zone as it is right after the admin created it with one GRE physical network."""
    zone_id, pn_id = _uuid(), _uuid()
    vr_id, ovs_id = _uuid(), _uuid()
    return dict(
        zones=[dict(id=zone_id, name='zone1', networktype='Advanced', allocationstate='Enabled',
                    dns1='192.0.2.53', internaldns1='192.0.2.53', localstorageenabled=False,
                    securitygroupsenabled=False, tags=[])],
        physical_networks=[dict(id=pn_id, name='gre-guest', zoneid=zone_id, zonename='zone1',
                                state='Disabled', isolationmethods='GRE',
                                broadcastdomainrange='ZONE', vlan='1000-1999',
                                tags='gre-guest', networkspeed='1G')],
        nsps=[
            dict(id=vr_id, name='VirtualRouter', physicalnetworkid=pn_id, state='Disabled',
                 canenableindividualservice=True, destinationphysicalnetworkid='0',
                 servicelist=['Vpn', 'Dhcp', 'Dns', 'Gateway', 'Firewall', 'Lb', 'UserData',
                              'SourceNat', 'StaticNat', 'PortForwarding']),
            dict(id=ovs_id, name='Ovs', physicalnetworkid=pn_id, state='Disabled',
                 canenableindividualservice=True, destinationphysicalnetworkid='0',
                 servicelist=['Connectivity', 'StaticNat', 'PortForwarding', 'Lb']),
        ],
        ovs_elements=[dict(id=_uuid(), nspid=ovs_id, enabled=False, account='system',
                           domainid=_uuid(), domain='ROOT')],
        vr_elements=[dict(id=_uuid(), nspid=vr_id, enabled=False, account='system',
                          domainid=_uuid(), domain='ROOT')],
        traffic_types=[],
        network_offerings=[],
        service_offerings=[],
        domains=[dict(id=_uuid(), name='ROOT', path='ROOT', level=0, haschild=False)],
    )


class FakeCloudStack(object):
    """Start with ``start()`` (returns the API URL), stop with ``stop()``."""

    # CloudStack's default.page.size setting.
    default_page_size = 500

    def __init__(self, state=None, api_key=API_KEY, api_secret=API_SECRET):
        self.state = state or default_state()
        self.api_key = api_key
        self.api_secret = api_secret
        self.calls = []
        self.jobs = {}
        self.fail_next_job = None
        # How many queryAsyncJobResult answers of a job say "pending".
        self.pending_polls = 1
        # Answer every request with an HTML page, as a URL that is not the API would.
        self.answer_html = False
        # Answer every request with this JSON text (status 200, application/json) instead.
        self.answer_json = None
        # Send each answer one byte every ``trickle`` seconds (status line and headers too).
        self.trickle = None
        # HTTP method of every authenticated request, and TLS handshakes the client ended.
        self.http_methods = []
        self.tls_refused = 0
        self.lock = threading.Lock()
        self.server = None
        self.thread = None

    # ------------------------------------------------------------- lifecycle
    def start(self, tls=None):
        """Serve on 127.0.0.1; ``tls`` = (certificate file, key file) serves HTTPS. Returns the
        API URL."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                fake.handle(self, 'GET', urlsplit(self.path).query)

            def do_POST(self):
                length = int(self.headers.get('Content-Length') or 0)
                fake.handle(self, 'POST', self.rfile.read(length).decode('utf-8'))

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            def finish_request(self, request, client_address):
                # The TLS handshake in the request's own thread: a client that refuses the
                # certificate ends it, which is counted instead of printed as a traceback.
                if tls:
                    try:
                        request.do_handshake()
                    except (ssl.SSLError, OSError):
                        with fake.lock:
                            fake.tls_refused += 1
                        return
                super(Server, self).finish_request(request, client_address)

        self.server = Server(('127.0.0.1', 0), Handler)
        scheme = 'http'
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True,
                                                     do_handshake_on_connect=False)
            scheme = 'https'
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return '%s://127.0.0.1:%d/client/api' % (scheme, self.server.server_address[1])

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(5)
            self.server = None

    def writes(self):
        return [c for c in self.calls if c[0] in WRITE_COMMANDS]

    def commands(self):
        return [c[0] for c in self.calls]

    # ------------------------------------------------------------- HTTP
    def handle(self, request, method, query):
        if self.answer_json is not None:
            payload = self.answer_json.encode()
            self._send(request, 200, 'application/json; charset=UTF-8', payload)
            return
        if self.answer_html:
            payload = b'<html><body>not the API</body></html>'
            request.send_response(200)
            request.send_header('Content-Type', 'text/html')
            request.send_header('Content-Length', str(len(payload)))
            request.end_headers()
            request.wfile.write(payload)
            return
        pairs = parse_qsl(query, keep_blank_values=True)
        params = dict(pairs)
        command = params.get('command', '')
        try:
            self._authenticate(pairs, params)
            with self.lock:
                self.http_methods.append(method)
                self.calls.append((command, params))
                body = self.dispatch(command, params)
            status = 200
        except ApiError as exc:
            status = exc.code
            body = dict(uuidList=[], errorcode=exc.code, cserrorcode=exc.cserrorcode,
                        errortext=exc.text)
        payload = json.dumps({command.lower() + 'response': body}).encode()
        self._send(request, status, 'application/json; charset=UTF-8', payload)

    def _send(self, request, status, ctype, payload):
        if not self.trickle:
            request.send_response(status)
            request.send_header('Content-Type', ctype)
            request.send_header('Content-Length', str(len(payload)))
            request.end_headers()
            request.wfile.write(payload)
            return
        # A server (or a proxy) that sends a byte at a time: every read of the client gets
        # a byte well within its timeout, the answer never comes whole in time.
        head = ('HTTP/1.0 %d OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n'
                % (status, ctype, len(payload))).encode()
        request.close_connection = True
        try:
            for index in range(len(head + payload)):
                request.wfile.write((head + payload)[index:index + 1])
                request.wfile.flush()
                time.sleep(self.trickle)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up

    def _authenticate(self, pairs, params):
        bad = ApiError(401, 'unable to verify user credentials and/or request signature')
        if params.get('apiKey') != self.api_key or 'signature' not in params:
            raise bad
        signed = [(k, v) for k, v in pairs if k != 'signature']
        if not hmac.compare_digest(expected_signature(signed, self.api_secret),
                                   params['signature']):
            raise bad
        if params.get('signatureVersion') == '3':
            expires = datetime.datetime.strptime(params.get('expires', ''),
                                                 '%Y-%m-%dT%H:%M:%S%z')
            if expires < datetime.datetime.now(datetime.timezone.utc):
                raise bad

    # ------------------------------------------------------------- API
    def dispatch(self, command, p):
        method = getattr(self, 'api_' + command, None)
        if method is None:
            raise ApiError(432, 'The given command:%s does not exist or it is not available for '
                                'user' % command, 9999)
        return method(p)

    @staticmethod
    def _require(p, command, *names):
        for name in names:
            if not p.get(name):
                raise ApiError(431, 'Unable to execute API command %s due to missing parameter %s'
                               % (command.lower(), name), 4350)

    def _list(self, item_key, items, p):
        if p.get('id'):
            items = [i for i in items if i['id'] == p['id']]
        if p.get('name'):
            # CloudStack's name filters match substrings on several list commands.
            items = [i for i in items if p['name'].lower() in i.get('name', '').lower()]
        if not items:
            return {}
        count = len(items)
        # Without pagesize the server answers with up to default.page.size items.
        size = int(p.get('pagesize') or self.default_page_size)
        if size > self.default_page_size:
            raise ApiError(431, "Page size can't exceed max allowed page size value: %d"
                           % self.default_page_size, 4350)
        start = (int(p.get('page') or 1) - 1) * size
        items = items[start:start + size]
        return {'count': count, item_key: copy.deepcopy(items)}

    def _find(self, collection, item_id, what):
        for item in self.state[collection]:
            if item['id'] == item_id:
                return item
        raise ApiError(431, 'Unable to execute API command due to invalid value. Invalid '
                            'parameter id value=%s due to incorrect long value format, or entity '
                            'does not exist or due to incorrect parameter annotation for the '
                            'field in api cmd class.' % item_id, 4350)

    def _start_job(self, command, result):
        jobid = _uuid()
        self.jobs[jobid] = dict(command=command, result=result, polls=0,
                                fail=self.fail_next_job)
        self.fail_next_job = None
        return {'jobid': jobid}

    def api_listZones(self, p):
        return self._list('zone', self.state['zones'], p)

    def api_listDomains(self, p):
        return self._list('domain', self.state['domains'], p)

    def api_listPhysicalNetworks(self, p):
        items = self.state['physical_networks']
        if p.get('zoneid'):
            items = [i for i in items if i['zoneid'] == p['zoneid']]
        return self._list('physicalnetwork', items, p)

    def api_listNetworkServiceProviders(self, p):
        items = self.state['nsps']
        if p.get('physicalnetworkid'):
            items = [i for i in items if i['physicalnetworkid'] == p['physicalnetworkid']]
        if p.get('state'):
            items = [i for i in items if i['state'] == p['state']]
        if p.get('name'):
            # This one matches the provider name exactly.
            items = [i for i in items if i['name'] == p['name']]
        return self._list('networkserviceprovider', items, dict(page=p.get('page'),
                                                                pagesize=p.get('pagesize')))

    def api_listOvsElements(self, p):
        items = self.state['ovs_elements']
        if p.get('nspid'):
            items = [i for i in items if i['nspid'] == p['nspid']]
        if p.get('enabled'):
            items = [i for i in items if i['enabled'] == java_bool(p['enabled'])]
        return self._list('ovselement', items, dict(id=p.get('id'), page=p.get('page'),
                                                    pagesize=p.get('pagesize')))

    def api_configureOvsElement(self, p):
        self._require(p, 'configureOvsElement', 'id', 'enabled')
        element = self._find('ovs_elements', p['id'], 'ovs element')
        return self._start_job('configureOvsElement', lambda: self._configure(element, p))

    def _configure(self, element, p):
        element['enabled'] = java_bool(p['enabled'])
        return {'ovselement': copy.deepcopy(element)}

    def api_listVirtualRouterElements(self, p):
        items = self.state['vr_elements']
        if p.get('nspid'):
            items = [i for i in items if i['nspid'] == p['nspid']]
        return self._list('virtualrouterelement', items, dict(id=p.get('id'), page=p.get('page'),
                                                              pagesize=p.get('pagesize')))

    def api_configureVirtualRouterElement(self, p):
        self._require(p, 'configureVirtualRouterElement', 'id', 'enabled')
        element = self._find('vr_elements', p['id'], 'virtual router element')

        def done():
            element['enabled'] = java_bool(p['enabled'])
            return {'virtualrouterelement': copy.deepcopy(element)}
        return self._start_job('configureVirtualRouterElement', done)

    def api_updateNetworkServiceProvider(self, p):
        self._require(p, 'updateNetworkServiceProvider', 'id')
        nsp = self._find('nsps', p['id'], 'network service provider')
        if p.get('state') and p['state'] not in ('Enabled', 'Disabled'):
            raise ApiError(431, 'Unable to update the Network Service Provider id=%s as the '
                                'state value is not valid' % p['id'], 4350)
        return self._start_job('updateNetworkServiceProvider', lambda: self._update_nsp(nsp, p))

    def _update_nsp(self, nsp, p):
        if p.get('state'):
            nsp['state'] = p['state']
        return {'networkserviceprovider': copy.deepcopy(nsp)}

    def api_listTrafficTypes(self, p):
        self._require(p, 'listTrafficTypes', 'physicalnetworkid')
        items = [t for t in self.state['traffic_types']
                 if t['physicalnetworkid'] == p['physicalnetworkid']]
        return self._list('traffictype', items, dict(page=p.get('page'),
                                                     pagesize=p.get('pagesize')))

    def api_listNetworkOfferings(self, p):
        return self._list('networkoffering', self.state['network_offerings'], p)

    def api_listServiceOfferings(self, p):
        return self._list('serviceoffering', self.state['service_offerings'], p)

    # ---- writes used by the zone playbook (ngine_io.cloudstack modules)
    def api_addTrafficType(self, p):
        self._require(p, 'addTrafficType', 'physicalnetworkid', 'traffictype')
        self._find('physical_networks', p['physicalnetworkid'], 'physical network')
        if any(t['traffictype'] == p['traffictype'] and
               t['physicalnetworkid'] == p['physicalnetworkid'] for t in self.state['traffic_types']):
            raise ApiError(431, 'The traffic type %s is already added to the physical network'
                           % p['traffictype'], 4350)
        item = dict(id=_uuid(), traffictype=p['traffictype'],
                    physicalnetworkid=p['physicalnetworkid'])
        item.update((k, v) for k, v in p.items() if k.endswith('networklabel'))

        def done():
            self.state['traffic_types'].append(item)
            return {'traffictype': copy.deepcopy(item)}
        return self._start_job('addTrafficType', done)

    def api_updateTrafficType(self, p):
        self._require(p, 'updateTrafficType', 'id')
        item = self._find('traffic_types', p['id'], 'traffic type')

        def done():
            item.update((k, v) for k, v in p.items() if k.endswith('networklabel'))
            return {'traffictype': copy.deepcopy(item)}
        return self._start_job('updateTrafficType', done)

    def api_updatePhysicalNetwork(self, p):
        self._require(p, 'updatePhysicalNetwork', 'id')
        item = self._find('physical_networks', p['id'], 'physical network')
        if p.get('state') and p['state'] not in ('Enabled', 'Disabled'):
            raise ApiError(431, 'Invalid state %s' % p['state'], 4350)

        def done():
            for key in ('state', 'tags', 'vlan', 'networkspeed'):
                if p.get(key):
                    item[key] = p[key]
            return {'physicalnetwork': copy.deepcopy(item)}
        return self._start_job('updatePhysicalNetwork', done)

    @staticmethod
    def _indexed(p, name):
        """``name[i].k=v`` parameters as a list of dicts, in index order."""
        found = {}
        for key, value in p.items():
            if key.startswith(name + '[') and '].' in key:
                index, field = key[len(name) + 1:].split('].', 1)
                found.setdefault(int(index), {})[field] = value
        return [found[i] for i in sorted(found)]

    def api_createNetworkOffering(self, p):
        self._require(p, 'createNetworkOffering', 'name', 'displaytext', 'guestiptype',
                      'supportedservices', 'traffictype')
        services = p['supportedservices'].split(',')
        providers = {}
        for entry in self._indexed(p, 'serviceproviderlist'):
            providers.setdefault(entry['service'], []).append(entry['provider'])
        unknown = [s for s in providers if s not in services]
        if unknown:
            raise ApiError(431, 'Cannot add providers for services %s that are not supported'
                           % unknown, 4350)
        for_ovs = [s for s, names in providers.items() if 'Ovs' in names]
        if for_ovs and 'Connectivity' not in for_ovs:
            # OvsElement.verifyServicesCombination: nothing without Connectivity.
            raise ApiError(431, "Provider Ovs doesn't support services combination: %s"
                           % sorted(for_ovs), 4350)
        item = dict(id=_uuid(), name=p['name'], displaytext=p['displaytext'],
                    guestiptype=p['guestiptype'], traffictype=p['traffictype'],
                    state='Disabled', tags=p.get('tags', ''), isdefault=False,
                    specifyvlan=java_bool(p.get('specifyvlan')), conservemode=True,
                    egressdefaultpolicy=java_bool(p.get('egressdefaultpolicy')),
                    availability=p.get('availability', 'Optional'), forvpc=False,
                    ispersistent=False,
                    service=[dict(name=s, provider=[dict(name=n) for n in providers.get(s, [])])
                             for s in services])
        self.state['network_offerings'].append(item)
        return {'networkoffering': copy.deepcopy(item)}

    def api_updateNetworkOffering(self, p):
        self._require(p, 'updateNetworkOffering', 'id')
        item = self._find('network_offerings', p['id'], 'network offering')
        for key in ('name', 'displaytext', 'state', 'tags', 'availability'):
            if p.get(key):
                item[key] = p[key]
        return {'networkoffering': copy.deepcopy(item)}

    def api_createServiceOffering(self, p):
        self._require(p, 'createServiceOffering', 'name')
        details = dict((d['key'], d['value'])
                       for d in self._indexed(p, 'serviceofferingdetails'))
        item = dict(id=_uuid(), name=p['name'], displaytext=p.get('displaytext', p['name']),
                    cpunumber=int(p.get('cpunumber', 1)), cpuspeed=int(p.get('cpuspeed', 0)),
                    memory=int(p.get('memory', 0)), issystem=False, isvolatile=False,
                    storagetype='shared', provisioningtype='thin', offerha=False,
                    limitcpuuse=False, iscustomized=False, serviceofferingdetails=details)
        self.state['service_offerings'].append(item)
        return {'serviceoffering': copy.deepcopy(item)}

    def api_queryAsyncJobResult(self, p):
        self._require(p, 'queryAsyncJobResult', 'jobid')
        job = self.jobs.get(p['jobid'])
        if job is None:
            raise ApiError(431, 'Unable to execute API command queryasyncjobresult due to invalid '
                                'value. Invalid parameter jobid value=%s' % p['jobid'], 4350)
        now = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S+0000')
        answer = dict(accountid=_uuid(), userid=_uuid(), cmd=ASYNC_COMMANDS[job['command']],
                      jobprocstatus=0, created=now, jobid=p['jobid'])
        job['polls'] += 1
        if job['polls'] <= self.pending_polls:
            # Every job is pending at least once, so clients have to poll.
            answer.update(jobstatus=0, jobresultcode=0)
            return answer
        if job['fail']:
            answer.update(jobstatus=2, jobresultcode=530, jobresulttype='object', completed=now,
                          jobresult=dict(errorcode=530, errortext=job['fail']))
            return answer
        if 'value' not in job:
            job['value'] = job['result']()
        answer.update(jobstatus=1, jobresultcode=0, jobresulttype='object', completed=now,
                      jobresult=job['value'])
        return answer
