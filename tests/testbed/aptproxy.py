# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The lab's package proxy: lab hosts reach Debian's mirror through it, and only the mirror.

The lab's network namespaces have no route out, by design. ``apt`` on a bare lab host is
configured (``Acquire::http::Proxy``) to use ``http://192.0.2.1:3142``, the switch's address.
This process listens there, in the switch namespace, but makes its outgoing connections from the
machine's own network namespace: it is started in the machine's namespace, enters the switch's
(``setns``) only to create its listening socket and goes back. A network namespace is a property
of each socket, fixed when the socket is made, so one process serves both sides; there is no
route, no NAT and no address in the machine's namespace.

* Only plain ``GET`` of ``http://<host>/...`` where ``<host>`` is one of the Debian mirrors the
  machine's apt sources name (``rootfs.mirror_hosts()``). Anything else gets ``403``.
* Files that never change under their name are kept on disk under
  ``<cache>/apt/<host>/<path>`` and served from there next time, for every lab: packages
  (``/pool/``) and the index files apt fetches by hash (``/by-hash/``). ``InRelease`` and other
  mutable files are passed through. A file is written to a temporary name and renamed, so
  labs running side by side share the cache safely.
* One line per request goes to ``--log`` (``HIT``/``MISS``/``PASS``/``DENY``, status, bytes,
  path): the lab's report counts what it downloaded.

    python -m testbed.aptproxy --netns NS --listen 192.0.2.1:3142 --cache DIR --allow HOST...
                               [--log FILE] [--pidfile FILE]
"""

import argparse
import ctypes
import http.client
import http.server
import os
import shutil
import socketserver
import sys
import tempfile
import threading
import time
from urllib.parse import urlsplit

CLONE_NEWNET = 0x40000000
PORT = 3142
HOP_BY_HOP = frozenset(('connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization',
                        'proxy-connection', 'te', 'trailers', 'transfer-encoding', 'upgrade',
                        'host'))


def setns(fd):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, 'setns: %s' % os.strerror(err))


def immutable(path):
    """Paths whose content never changes: safe to keep for every later request."""
    return '/pool/' in path or '/by-hash/' in path


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'cloudstack.ovs-lab-apt-proxy'
    timeout = 120

    def log_message(self, fmt, *args):  # the request log is written by note()
        pass

    def note(self, what, status, size, url):
        line = '%s %s %d %d %s\n' % (time.strftime('%H:%M:%S'), what, status, size, url)
        with self.server.log_lock:
            if self.server.log:
                self.server.log.write(line)
                self.server.log.flush()

    def refuse(self, status, reason, url):
        body = ('%s: %s\n' % (reason, url)).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'text/plain')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.note('DENY', status, 0, url)

    def do_CONNECT(self):
        self.refuse(403, 'only http GET to the Debian mirror', self.path)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_CONNECT

    def do_HEAD(self):
        self.do_GET(head=True)

    def do_GET(self, head=False):
        url = self.path
        parts = urlsplit(url)
        if parts.scheme != 'http' or parts.hostname not in self.server.allow or \
                (parts.port or 80) != 80 or '..' in parts.path.split('/'):
            return self.refuse(403, 'not the Debian mirror (allowed: %s)'
                               % ', '.join(self.server.allow), url)
        path = parts.path + ('?' + parts.query if parts.query else '')
        if immutable(parts.path) and not parts.query:
            cached = os.path.join(self.server.cache, parts.hostname, parts.path.lstrip('/'))
            if os.path.isfile(cached):
                return self.send_file(cached, url, 'HIT', head)
            status = self.fetch_to(parts.hostname, path, cached)
            if status == 200:
                return self.send_file(cached, url, 'MISS', head)
            return self.refuse(status, 'mirror answered %d' % status, url)
        return self.passthrough(parts.hostname, path, url, head)

    def upstream(self, host, path, headers=None):
        conn = http.client.HTTPConnection(host, 80, timeout=60)
        agent = self.headers.get('User-Agent', 'apt')
        conn.request('GET', path, headers=dict(headers or {}, Host=host,
                                               **{'User-Agent': agent}))
        return conn, conn.getresponse()

    def fetch_to(self, host, path, dest):
        conn, resp = self.upstream(host, path)
        try:
            if resp.status != 200:
                resp.read()
                return resp.status
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(dest), prefix='.part-')
            with os.fdopen(fd, 'wb') as handle:
                shutil.copyfileobj(resp, handle, 1 << 20)
            os.chmod(tmp, 0o644)
            os.replace(tmp, dest)
            return 200
        finally:
            conn.close()

    def send_file(self, path, url, what, head):
        size = os.path.getsize(path)
        self.send_response(200)
        self.send_header('Content-Length', str(size))
        self.send_header('Content-Type', 'application/octet-stream')
        self.end_headers()
        if not head:
            with open(path, 'rb') as handle:
                shutil.copyfileobj(handle, self.wfile, 1 << 20)
        self.note(what, 200, size, url)

    def passthrough(self, host, path, url, head):
        headers = dict((k, v) for k, v in self.headers.items()
                       if k.lower() not in HOP_BY_HOP and k.lower() != 'user-agent')
        conn, resp = self.upstream(host, path, headers)
        try:
            body = resp.read()
            self.send_response(resp.status, resp.reason)
            for key, value in resp.getheaders():
                if key.lower() not in HOP_BY_HOP and key.lower() != 'content-length':
                    self.send_header(key, value)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)
            self.note('PASS', resp.status, len(body), url)
        finally:
            conn.close()


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(netns, listen, cache, allow, log=None, pidfile=None):
    host, _sep, port = listen.rpartition(':')
    server = Server((host, int(port)), Handler, bind_and_activate=False)
    # The listening socket is made above, in this process's (the machine's) namespace; make a
    # new one inside the switch's namespace instead, then return for the outgoing connections.
    server.socket.close()
    with open('/proc/self/ns/net') as home, open('/run/netns/%s' % netns) as target:
        setns(target.fileno())
        try:
            import socket
            server.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            server.server_bind()
            server.server_activate()
        finally:
            setns(home.fileno())
    server.allow = list(allow)
    server.cache = os.path.abspath(cache)
    server.log = open(log, 'a') if log else None
    server.log_lock = threading.Lock()
    os.makedirs(server.cache, exist_ok=True)
    if pidfile:
        with open(pidfile + '.tmp', 'w') as handle:
            handle.write('%d\n' % os.getpid())
        os.rename(pidfile + '.tmp', pidfile)
    server.serve_forever()


def main(argv=None):
    parser = argparse.ArgumentParser(prog='testbed.aptproxy',
                                     description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--netns', required=True)
    parser.add_argument('--listen', default='192.0.2.1:%d' % PORT)
    parser.add_argument('--cache', required=True)
    parser.add_argument('--allow', nargs='+', required=True)
    parser.add_argument('--log')
    parser.add_argument('--pidfile')
    args = parser.parse_args(argv)
    serve(args.netns, args.listen, args.cache, args.allow, args.log, args.pidfile)
    return 0


if __name__ == '__main__':
    sys.exit(main())
