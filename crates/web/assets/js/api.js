// The page's calls: method paths, and a wrapper that handles UNAUTHENTICATED the same way
// for every call (reads included): ask for a token, retry with it, ask again if refused.
//
// The access token is asked for in #token-dialog, kept in sessionStorage (gone with the
// tab) and sent as `authorization: Bearer <token>`.

import { Code } from './grpcweb.js';
import { $ } from './dom.js';

export const M = Object.freeze({
  streamTicks: 'tickmesh.stream.v1.TickStreamService/StreamTicks',
  latest: 'tickmesh.history.v1.HistoryService/GetLatestTickers',
  trades: 'tickmesh.history.v1.HistoryService/ListTrades',
  candles: 'tickmesh.history.v1.HistoryService/ListCandles',
  spread: 'tickmesh.history.v1.HistoryService/GetSpreadHistory',
  feeds: 'tickmesh.ingestion.v1.IngestionService/ListFeeds',
  listSubs: 'tickmesh.subscription.v1.SubscriptionService/ListSubscriptions',
  createSub: 'tickmesh.subscription.v1.SubscriptionService/CreateSubscription',
  deleteSub: 'tickmesh.subscription.v1.SubscriptionService/DeleteSubscription',
  watchSubs: 'tickmesh.subscription.v1.SubscriptionService/WatchSubscriptions',
});

export function createApi(client, auth) {
  async function withToken(call) {
    for (;;) {
      const token = auth.token();
      try {
        return await call(token);
      } catch (e) {
        if (e.code !== Code.UNAUTHENTICATED) throw e;
        await auth.ask(e, token);
      }
    }
  }
  return {
    unary: (path, request, opts = {}) => withToken((token) => client.unary(path, request, { ...opts, token })),
    stream: (path, request, onMessage, opts = {}) =>
      withToken((token) => client.stream(path, request, onMessage, { ...opts, token })),
  };
}

// An error in words for the page. Codes with a sentence of their own get it (with the
// server's detail); the rest (INVALID_ARGUMENT, NOT_FOUND, ...) show the server's message
// verbatim, since it names the problem.
export function errorText(e, t) {
  if (!e) return '';
  const name = e.codeName || '';
  const key = `err.${name}`;
  const sentence = name ? t(key) : key;
  if (sentence !== key) return e.message && e.message !== name ? `${sentence} (${e.message})` : sentence;
  return e.message || String(e);
}

const KEY = 'tickmesh.token';
// After the user cancels the dialog, calls fail at once for a while instead of reopening
// it every poll.
const QUIET_MS = 15_000;

export class Auth {
  constructor() {
    this.overlay = $('#token-overlay');
    this.dialog = $('#token-dialog');
    this.form = $('#token-form');
    this.input = this.form.elements.token;
    this.error = $('#token-error');
    this.pending = null;
    this.quietUntil = 0;
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      const value = this.input.value.trim();
      if (!value) return;
      try {
        sessionStorage.setItem(KEY, value);
      } catch {
        this.memory = value;
      }
      this.close(true);
    });
    $('#token-cancel').addEventListener('click', () => this.close(false));
    this.overlay.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') this.close(false);
    });
  }

  token() {
    try {
      return sessionStorage.getItem(KEY) || this.memory || '';
    } catch {
      return this.memory || '';
    }
  }

  // Resolves once a token (maybe new) should be tried; rejects with `error` when the user
  // cancels. Concurrent callers share one dialog.
  ask(error, usedToken) {
    // Someone entered a token since this call was sent: just try that one.
    if (this.token() && this.token() !== usedToken) return Promise.resolve();
    if (this.pending) return this.pending.promise;
    if (Date.now() < this.quietUntil) return Promise.reject(error);
    let resolve;
    let reject;
    const promise = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.pending = { promise, resolve, reject, error };
    // A token was sent and refused: say why (the server's words), and ask again.
    this.error.textContent = usedToken ? error.message : '';
    this.error.hidden = !usedToken;
    this.input.value = '';
    // Not showModal(): a modal dialog is position: fixed in the top layer; this one is shown
    // in place inside its overlay, which covers and blocks the page.
    this.overlay.hidden = false;
    if (!this.dialog.open) this.dialog.show();
    this.setPageInert(true);
    this.input.focus();
    return promise;
  }

  // While the dialog is up the page behind takes no focus or clicks.
  setPageInert(inert) {
    for (const n of document.querySelectorAll('body > header, body > main')) n.inert = inert;
  }

  close(ok) {
    const p = this.pending;
    this.pending = null;
    if (this.dialog.open) this.dialog.close();
    this.overlay.hidden = true;
    this.setPageInert(false);
    if (!p) return;
    if (ok) p.resolve();
    else {
      this.quietUntil = Date.now() + QUIET_MS;
      p.reject(p.error);
    }
  }
}
