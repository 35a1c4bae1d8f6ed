// gRPC-Web binary framing, trailers and status: pure functions, no fetch and no DOM.
//
// A body is a sequence of frames: 1 flag byte (0x00 data, 0x80 trailers, bit 0x01
// compressed), a 4-byte big-endian length, then the payload.

export const Code = Object.freeze({
  OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5,
  ALREADY_EXISTS: 6, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9,
  ABORTED: 10, OUT_OF_RANGE: 11, UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14,
  DATA_LOSS: 15, UNAUTHENTICATED: 16,
});

const codeNames = Object.fromEntries(Object.entries(Code).map(([k, v]) => [v, k]));

export function codeName(code) {
  return codeNames[code] || `CODE_${code}`;
}

export class GrpcError extends Error {
  constructor(code, message) {
    super(message || codeName(code));
    this.name = 'GrpcError';
    this.code = code;
    this.codeName = codeName(code);
  }
}

export function frame(message, flag = 0) {
  const out = new Uint8Array(5 + message.length);
  out[0] = flag;
  const n = message.length;
  out[1] = (n >>> 24) & 0xff;
  out[2] = (n >>> 16) & 0xff;
  out[3] = (n >>> 8) & 0xff;
  out[4] = n & 0xff;
  out.set(message, 5);
  return out;
}

// Incremental frame splitter: push() body chunks as they arrive; each complete frame is
// handed to onFrame(flag, payload) at once. A frame may span any number of chunks and a
// chunk may hold many frames; payloads are subarrays (no copy) when a frame lies in one chunk.
export class FrameParser {
  constructor() {
    this.rest = null;
  }

  push(chunk, onFrame) {
    let buf = chunk;
    if (this.rest) {
      buf = new Uint8Array(this.rest.length + chunk.length);
      buf.set(this.rest);
      buf.set(chunk, this.rest.length);
      this.rest = null;
    }
    let p = 0;
    const n = buf.length;
    while (n - p >= 5) {
      const len = ((buf[p + 1] << 24) | (buf[p + 2] << 16) | (buf[p + 3] << 8) | buf[p + 4]) >>> 0;
      if (n - p - 5 < len) break;
      onFrame(buf[p], buf.subarray(p + 5, p + 5 + len));
      p += 5 + len;
    }
    // Copy the tail so a half frame does not keep a large earlier chunk alive.
    if (p < n) this.rest = buf.slice(p);
  }

  // True when the body ended inside a frame.
  pending() {
    return this.rest !== null;
  }
}

// The trailers frame holds HTTP/1 style header lines: "grpc-status: 0\r\ngrpc-message: x\r\n".
export function parseTrailers(payload) {
  const text = new TextDecoder().decode(payload);
  const out = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    out[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return out;
}

// grpc-message is percent-encoded UTF-8. A malformed escape is kept as it is rather than
// losing the whole message.
export function percentDecode(s) {
  if (!s || s.indexOf('%') < 0) return s || '';
  // Runs of escapes are decoded together so multi-byte UTF-8 characters come out whole.
  return s.replace(/(?:%[0-9a-fA-F]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

// A status from a headers-like lookup (a trailers object, or Headers.get via the getter).
// Returns null when there is no grpc-status, or a GrpcError (code 0 included) otherwise.
export function statusFrom(get) {
  const raw = get('grpc-status');
  if (raw === null || raw === undefined || raw === '') return null;
  const code = Number.parseInt(raw, 10);
  const message = percentDecode(get('grpc-message') || '');
  return new GrpcError(Number.isNaN(code) ? Code.UNKNOWN : code, message);
}
