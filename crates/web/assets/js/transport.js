// gRPC-Web over fetch (binary mode), for unary and server-streaming methods.
// No DOM: it runs in node too (fetch and ReadableStream are global there).
//
// Errors are always GrpcError: a network failure or a non-200 answer without grpc-status is
// UNAVAILABLE, an abort is CANCELLED, a status from headers (trailers-only) or from the
// trailers frame is passed through with its message percent-decoded.

import { encode, decode } from './codec.js';
import { WireError } from './wire.js';
import { Code, FrameParser, GrpcError, frame, parseTrailers, statusFrom } from './grpcweb.js';

const CONTENT_TYPE = 'application/grpc-web+proto';

function networkError(e, signal) {
  if (e instanceof GrpcError) return e;
  if (signal && signal.aborted) return new GrpcError(Code.CANCELLED, 'cancelled');
  return new GrpcError(Code.UNAVAILABLE, (e && e.message) || 'network error');
}

function quietCancel(reader) {
  try {
    reader.cancel().catch(() => {});
  } catch {
    // Already released or errored: nothing to close.
  }
}

export class GrpcClient {
  constructor(registry, { baseUrl = '', fetchImpl } = {}) {
    this.registry = registry;
    this.baseUrl = baseUrl;
    this.fetch = fetchImpl || ((...a) => globalThis.fetch(...a));
  }

  // Resolves with the one response message.
  async unary(path, request, opts = {}) {
    let reply;
    let count = 0;
    await this.call(path, request, (m) => {
      reply = m;
      count++;
    }, opts);
    if (count !== 1) throw new GrpcError(Code.INTERNAL, `expected one response message, got ${count}`);
    return reply;
  }

  // Calls onMessage(message) for each message as it arrives; resolves when the server ends
  // the stream with OK, rejects with a GrpcError otherwise. opts.onOpen() runs once the
  // response headers came back without an error.
  stream(path, request, onMessage, opts = {}) {
    return this.call(path, request, onMessage, opts);
  }

  async call(path, request, onMessage, { signal, token, onOpen } = {}) {
    const method = this.registry.method(path);
    const outType = this.registry.message(method.outputType);
    const body = frame(encode(this.registry, method.inputType, request));
    const headers = {
      'content-type': CONTENT_TYPE,
      accept: CONTENT_TYPE,
      'x-grpc-web': '1',
    };
    if (token) headers.authorization = `Bearer ${token}`;
    let res;
    try {
      res = await this.fetch(`${this.baseUrl}/${path}`, {
        method: 'POST', headers, body, signal, cache: 'no-store',
      });
    } catch (e) {
      throw networkError(e, signal);
    }
    const headerStatus = statusFrom((k) => res.headers.get(k));
    if ((headerStatus && headerStatus.code !== Code.OK) || !res.ok || !res.body) {
      if (res.body) quietCancel(res.body.getReader());
      if (headerStatus && headerStatus.code !== Code.OK) throw headerStatus;
      throw new GrpcError(Code.UNAVAILABLE, `HTTP ${res.status} ${res.statusText || ''}`.trim());
    }
    if (onOpen) onOpen();

    let status = headerStatus;
    const parser = new FrameParser();
    const reader = res.body.getReader();
    const onFrame = (flag, payload) => {
      if (flag & 0x80) {
        const trailers = parseTrailers(payload);
        status = statusFrom((k) => trailers[k]) || status;
        return;
      }
      if (flag & 0x01) throw new GrpcError(Code.INTERNAL, 'compressed gRPC-Web frames are not supported');
      onMessage(decode(this.registry, outType, payload));
    };
    for (;;) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch (e) {
        throw networkError(e, signal);
      }
      if (chunk.done) break;
      try {
        parser.push(chunk.value, onFrame);
      } catch (e) {
        // A consumer or decode failure ends the call: close the connection, then report it.
        quietCancel(reader);
        if (e instanceof GrpcError) throw e;
        if (e instanceof WireError) throw new GrpcError(Code.INTERNAL, `bad message: ${e.message}`);
        throw e;
      }
    }
    if (signal && signal.aborted) throw new GrpcError(Code.CANCELLED, 'cancelled');
    // A body cut short (server stopped mid-stream) has no trailers: the server is gone.
    if (!status) throw new GrpcError(Code.UNAVAILABLE, 'connection closed before the call ended');
    if (status.code !== Code.OK) throw status;
  }
}
