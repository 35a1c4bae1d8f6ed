// gRPC-Web framing, trailers and the fetch transport against a local node HTTP server.
import test from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { FrameParser, frame, parseTrailers, percentDecode, statusFrom, Code, GrpcError } from '../../assets/js/grpcweb.js';
import { GrpcClient } from '../../assets/js/transport.js';
import { parseDescriptorSet } from '../../assets/js/descriptor.js';
import { encode, decode } from '../../assets/js/codec.js';
import { handBuiltDescriptorSet } from './descriptors.mjs';

const enc = new TextEncoder();

test('frame parser splits frames across and within chunks', () => {
  const a = frame(new Uint8Array([1, 2, 3]));
  const b = frame(new Uint8Array([]));
  const c = frame(enc.encode('grpc-status: 0\r\n'), 0x80);
  const all = new Uint8Array([...a, ...b, ...c]);
  for (const cut of [1, 2, 4, 5, 7, 8, 9, 13, all.length - 1]) {
    const got = [];
    const parser = new FrameParser();
    const on = (flag, payload) => got.push([flag, [...payload]]);
    parser.push(all.subarray(0, cut), on);
    parser.push(all.subarray(cut), on);
    assert.equal(got.length, 3, `cut at ${cut}`);
    assert.deepEqual(got[0], [0, [1, 2, 3]]);
    assert.deepEqual(got[1], [0, []]);
    assert.equal(got[2][0], 0x80);
    assert.equal(parser.pending(), false);
  }
  const p = new FrameParser();
  p.push(a.subarray(0, 6), () => assert.fail('no frame yet'));
  assert.equal(p.pending(), true);
});

test('trailers and percent-encoded messages', () => {
  const t = parseTrailers(enc.encode('grpc-status: 3\r\nGrpc-Message: invalid%20market%3A%20%ED%95%9C\r\n'));
  const st = statusFrom((k) => t[k]);
  assert.ok(st instanceof GrpcError);
  assert.equal(st.code, Code.INVALID_ARGUMENT);
  assert.equal(st.message, 'invalid market: 한');
  assert.equal(percentDecode('100%'), '100%');
  assert.equal(statusFrom(() => null), null);
});

const registry = parseDescriptorSet(handBuiltDescriptorSet());
const RESP = 'tickmesh.stream.v1.StreamTicksResponse';
const PATH = 'tickmesh.stream.v1.TickStreamService/StreamTicks';

// Serves StreamTicks; the request's resumeAfter picks the behaviour under test.
function serve() {
  const seen = [];
  const server = http.createServer((req, res) => {
    const body = [];
    req.on('data', (d) => body.push(d));
    req.on('end', () => {
      const raw = Buffer.concat(body);
      const msg = decode(registry, 'tickmesh.stream.v1.StreamTicksRequest', raw.subarray(5));
      seen.push({ headers: req.headers, msg });
      const mode = msg.resumeAfter;
      if (mode === 'http500') { res.writeHead(500); res.end(); return; }
      if (mode === 'only') {
        res.writeHead(200, { 'content-type': 'application/grpc-web+proto', 'grpc-status': '16', 'grpc-message': 'token%20required' });
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/grpc-web+proto' });
      const frames = [];
      for (let i = 0; i < 3; i++) frames.push(frame(encode(registry, RESP, { cursor: `c${i}`, event: { trade: { tradeId: 2n ** 60n + BigInt(i) } } })));
      const bytes = Buffer.concat(frames);
      // Dribble the body in 7-byte pieces so frames straddle chunks.
      for (let p = 0; p < bytes.length; p += 7) res.write(bytes.subarray(p, p + 7));
      if (mode === 'cut') { res.destroy(); return; }
      if (mode === 'hang') return;
      const status = mode === 'fail' ? 'grpc-status: 14\r\ngrpc-message: feed%20down\r\n' : 'grpc-status: 0\r\n';
      res.end(frame(enc.encode(status), 0x80));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, seen, url: `http://127.0.0.1:${server.address().port}` })));
}

test('transport streams messages, reads trailers and maps failures', async () => {
  const { server, seen, url } = await serve();
  try {
    const client = new GrpcClient(registry, { baseUrl: url });
    const got = [];
    let opened = 0;
    await client.stream(PATH, { kinds: ['EVENT_KIND_TRADE'] }, (m) => got.push(m), { token: 'sekret', onOpen: () => opened++ });
    assert.deepEqual(got.map((m) => m.cursor), ['c0', 'c1', 'c2']);
    assert.equal(got[2].event.trade.tradeId, 2n ** 60n + 2n);
    assert.equal(opened, 1);
    assert.equal(seen[0].headers.authorization, 'Bearer sekret');
    assert.equal(seen[0].headers['content-type'], 'application/grpc-web+proto');
    assert.equal(seen[0].headers['x-grpc-web'], '1');
    assert.deepEqual(seen[0].msg.kinds, ['EVENT_KIND_TRADE']);

    const codeOf = (p) => p.then(() => 'ok', (e) => [e.code, e.message]);
    assert.deepEqual(await codeOf(client.stream(PATH, { resumeAfter: 'fail' }, () => {})), [14, 'feed down']);
    assert.deepEqual(await codeOf(client.stream(PATH, { resumeAfter: 'only' }, () => {})), [16, 'token required']);
    assert.equal((await codeOf(client.stream(PATH, { resumeAfter: 'http500' }, () => {})))[0], Code.UNAVAILABLE);
    assert.equal((await codeOf(client.stream(PATH, { resumeAfter: 'cut' }, () => {})))[0], Code.UNAVAILABLE);
    // A unary call on a streaming answer with 3 messages is an error, not a silent pick.
    assert.equal((await codeOf(client.unary(PATH, {}, {})))[0], Code.INTERNAL);

    const ctl = new AbortController();
    const hung = codeOf(client.stream(PATH, { resumeAfter: 'hang' }, (m) => { if (m.cursor === 'c2') ctl.abort(); }, { signal: ctl.signal }));
    assert.equal((await hung)[0], Code.CANCELLED);
  } finally {
    server.closeAllConnections();
    server.close();
  }
  const dead = new GrpcClient(registry, { baseUrl: 'http://127.0.0.1:9' });
  await assert.rejects(dead.unary(PATH, {}), (e) => e.code === Code.UNAVAILABLE);
});
