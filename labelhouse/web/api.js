// The public HTTP API, as the browser uses it: a session cookie plus the session's CSRF token.
// Also the outbox: submits that could not reach the server wait in localStorage and are retried
// with the same idempotency key until the server answers, so an answer is never lost or doubled.

const BASE = "/api/v1";
let csrf = "";

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

export function setCsrf(token) { csrf = token || ""; }

/** Call the API. Resolves to the parsed JSON body (null for 204); rejects with ApiError, or
 * TypeError when the network is down. */
export async function call(method, path, body, { raw = false, headers = {} } = {}) {
  const init = { method, headers: { ...headers }, credentials: "same-origin" };
  if (method !== "GET" && method !== "HEAD") init.headers["X-CSRF-Token"] = csrf;
  if (body !== undefined) {
    if (body instanceof Blob || body instanceof FormData || body instanceof ArrayBuffer) init.body = body;
    else {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
  }
  const res = await fetch(BASE + path, init);
  if (raw) return res;
  if (res.status === 204) return null;
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) {
    const err = (data && data.error) || {};
    if (res.status === 401 && path !== "/auth/session") window.dispatchEvent(new CustomEvent("lh:logged-out"));
    throw new ApiError(res.status, err.code || "error", err.message || res.statusText, err.field);
  }
  return data;
}

export const api = {
  get: (p) => call("GET", p),
  post: (p, b) => call("POST", p, b),
  put: (p, b) => call("PUT", p, b),
  patch: (p, b) => call("PATCH", p, b),
  del: (p) => call("DELETE", p),
};

export function newKey() {
  return crypto.randomUUID ? crypto.randomUUID() : Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

// ---- the outbox --------------------------------------------------------------------------------

const OUTBOX = "lh.outbox";
const listeners = new Set();
let flushing = null;
let timer = null;

function load() {
  try { return JSON.parse(localStorage.getItem(OUTBOX) || "[]"); } catch { return []; }
}
function save(entries) { localStorage.setItem(OUTBOX, JSON.stringify(entries)); notify(); }
function notify() { const n = pending(); for (const fn of listeners) fn(n); }

export function pending() { return load().filter((e) => !e.failed).length; }
export function failed() { return load().filter((e) => e.failed); }
export function onOutbox(fn) { listeners.add(fn); fn(pending()); return () => listeners.delete(fn); }

export function dismissFailed(key) { save(load().filter((e) => e.body.idempotency_key !== key)); }

/** Queue a submit and send it now. Resolves with the server's annotation once accepted, or with
 * null if it is waiting for the network (it stays queued and is retried). Rejects with ApiError
 * when the server refuses it (kept as failed, shown to the annotator). */
export function submit(taskId, body) {
  const entries = load();
  entries.push({ taskId, body, at: Date.now() });
  save(entries);
  return sendOne(taskId, body);
}

async function sendOne(taskId, body) {
  try {
    const out = await call("POST", `/tasks/${taskId}/annotations`, body);
    save(load().filter((e) => e.body.idempotency_key !== body.idempotency_key));
    return out;
  } catch (err) {
    if (err instanceof ApiError && err.status < 500 && err.status !== 429) {
      save(load().map((e) => (e.body.idempotency_key === body.idempotency_key ? { ...e, failed: err.message } : e)));
      throw err;
    }
    schedule();
    return null;
  }
}

function schedule(ms = 2000) {
  if (timer) return;
  timer = setTimeout(() => { timer = null; flush(); }, ms);
}

/** Send every queued submit, oldest first; stops at the first network failure. */
export function flush() {
  if (flushing) return flushing;
  flushing = (async () => {
    let sent = 0;
    for (const entry of load().filter((e) => !e.failed)) {
      try {
        const out = await sendOne(entry.taskId, entry.body);
        if (out === null) break;
        sent++;
      } catch { /* kept as failed */ }
    }
    return sent;
  })().finally(() => { flushing = null; });
  return flushing;
}

window.addEventListener("online", () => flush());
// Answers left waiting by an earlier visit (a reload, a closed tab) are sent as soon as the page runs.
if (pending()) setTimeout(() => flush(), 0);
