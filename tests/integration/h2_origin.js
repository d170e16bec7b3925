// An HTTP/2 origin for the upstream HTTP/2 tests (test_upstream_h2.py): Node's http2 server
// over TLS through its compatibility API, ALPN h2 (and http/1.1 too when argv[6] is "both").
// argv: ip, cert, key, log file, alpn. Prints its port. Logs one JSON line per TLS connection
// ({"conn": n, "alpn": ...}) and per request ({"req": {...}}: what it saw).
//   /echo           200, JSON of the request: version, method, path, headers, body length, sha256
//   /trailers       200, a body, then trailers grpc-status: 0 and x-sum (the body's sha256)
//   /big?n=N        200, N bytes (i % 251), no content-length
//   /status?code=C  C (a short body unless 204 or 304)
//   /reset          HTTP/2: resets the stream after the head and a few body bytes
//   /goaway?wait=MS HTTP/2: answers, then closes its session gracefully (GOAWAY) MS later
//                   (default 20; 0: at once)
'use strict';
const http2 = require('http2'), fs = require('fs'), crypto = require('crypto');
const [ip, cert, key, logFile, alpn] = process.argv.slice(2);
const log = (o) => fs.appendFileSync(logFile, JSON.stringify(o) + '\n');
const server = http2.createSecureServer({
  cert: fs.readFileSync(cert), key: fs.readFileSync(key), allowHTTP1: alpn === 'both',
});
let conns = 0;
server.on('secureConnection', (s) => {
  s.connId = ++conns;
  log({conn: s.connId, alpn: s.alpnProtocol});
});
function pattern(n) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = i % 251;
  return b;
}
server.on('request', (req, res) => {
  const url = new URL(req.url, 'https://x');
  const h = crypto.createHash('sha256');
  let len = 0;
  req.on('data', (d) => { h.update(d); len += d.length; });
  req.on('end', () => {
    const sock = req.socket;
    const seen = {version: req.httpVersion, method: req.method, path: req.url,
                  headers: req.headers, len, sha: h.digest('hex'),
                  conn: sock && sock.connId};
    log({req: seen});
    if (url.pathname === '/echo') {
      res.writeHead(200, {'content-type': 'application/json'});
      res.end(JSON.stringify(seen));
    } else if (url.pathname === '/trailers') {
      const body = Buffer.from('hello trailers');
      res.writeHead(200, {'content-type': 'application/grpc'});
      res.addTrailers({'grpc-status': '0',
                       'x-sum': crypto.createHash('sha256').update(body).digest('hex')});
      res.end(body);
    } else if (url.pathname === '/big') {
      res.writeHead(200);
      res.end(pattern(+url.searchParams.get('n')));
    } else if (url.pathname === '/status') {
      const code = +url.searchParams.get('code');
      res.writeHead(code);
      res.end(code === 204 || code === 304 ? undefined : 'status body');
    } else if (url.pathname === '/goaway' && req.stream) {
      res.writeHead(200, {'content-length': '3'});
      res.end('bye');
      const wait = +(url.searchParams.get('wait') || 20), session = req.stream.session;
      if (wait) setTimeout(() => session.close(), wait);
      else session.close();
    } else if (url.pathname === '/reset' && req.stream) {
      res.writeHead(200);
      res.write('partial');
      setTimeout(() => req.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR), 50);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
});
server.listen(0, ip, () => console.log(server.address().port));
