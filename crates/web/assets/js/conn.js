// A server stream that stays open: on any failure (network error, server stopped, stream
// ended) it waits a jittered backoff (0.5 s doubling to 5 s) and calls again, resuming after
// the cursor of the last item it received, so a reconnect misses nothing.
//
// States reported through onState: 'connecting', 'live' (response headers came back),
// 'disconnected' (waiting to retry; info.retryAt says until when).

import { Code, GrpcError } from './grpcweb.js';
import { sleep } from './dom.js';

const FIRST_DELAY = 500;
const MAX_DELAY = 5000;

export function backoffDelay(attempt, random = Math.random) {
  const base = Math.min(MAX_DELAY, FIRST_DELAY * 2 ** attempt);
  // ±20 % so many tabs do not reconnect in lockstep after a server restart.
  return Math.min(MAX_DELAY, Math.round(base * (0.8 + 0.4 * random())));
}

export class ResilientStream {
  // request(cursor) builds each call's request; cursorOf(message) reads a message's
  // resume position ('' for streams without one).
  constructor(api, path, { request, onMessage, onState, onOpen, cursorOf = () => '' }) {
    this.api = api;
    this.path = path;
    this.request = request;
    this.onMessage = onMessage;
    this.onState = onState || (() => {});
    this.onOpen = onOpen || (() => {});
    this.cursorOf = cursorOf;
    this.cursor = '';
    this.state = 'idle';
    this.stopped = true;
    this.lastError = null;
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.life = new AbortController();
    this.loop().catch((e) => console.error('stream loop', e));
  }

  stop() {
    this.stopped = true;
    if (this.life) this.life.abort();
    if (this.call) this.call.abort();
  }

  // Drop the connection now and reconnect at once (used after a refused resume point).
  restart() {
    if (this.call) this.call.abort();
  }

  setState(state, info = {}) {
    this.state = state;
    this.onState(state, info);
  }

  async loop() {
    let attempt = 0;
    while (!this.stopped) {
      this.call = new AbortController();
      const resumed = this.cursor;
      let opened = false;
      this.setState('connecting');
      let error;
      try {
        await this.api.stream(this.path, this.request(this.cursor), (m) => {
          const c = this.cursorOf(m);
          if (c) this.cursor = c;
          this.onMessage(m);
        }, {
          signal: this.call.signal,
          onOpen: () => {
            opened = true;
            attempt = 0;
            this.setState('live');
            this.onOpen();
          },
        });
        error = new GrpcError(Code.UNAVAILABLE, 'the server ended the stream');
      } catch (e) {
        error = e;
      }
      if (this.stopped) return;
      this.lastError = error;
      // A resume point the server refuses (say it lost its history) must not wedge the
      // stream: drop it and go on live only.
      if (!opened && resumed && (error.code === Code.INVALID_ARGUMENT || error.code === Code.OUT_OF_RANGE)) {
        console.warn('resume cursor refused, resuming live', error.message);
        this.cursor = '';
        continue;
      }
      if (error.code === Code.CANCELLED) continue; // restart(): reconnect at once
      if (!(error instanceof GrpcError)) console.error('stream consumer failed', error);
      const wait = backoffDelay(attempt++);
      this.setState('disconnected', { retryAt: Date.now() + wait, error });
      await sleep(wait, this.life.signal);
    }
  }
}
