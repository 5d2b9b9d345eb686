// Sending bytes to signed URLs: one PUT with upload progress, and a limit
// on how many run at once. The upload view's policy (what to send, retries,
// re-signing) is in upload.js.
import { ProblemError } from "./lib.js";

// put sends blob as the signed request url says (its method and headers,
// no credential) and answers {ok, status, error}; status 0 is a network
// failure. XMLHttpRequest, as fetch reports no upload progress.
export function put(url, blob, onProgress, signal) {
  return new Promise((resolve, reject) => {
    signal.throwIfAborted();
    const x = new XMLHttpRequest();
    x.open(url.method || "PUT", url.url);
    for (const [k, v] of Object.entries(url.headers || {})) x.setRequestHeader(k, v);
    const abort = () => x.abort();
    signal.addEventListener("abort", abort, { once: true });
    x.upload.onprogress = (e) => onProgress(e.loaded);
    x.onloadend = () => signal.removeEventListener("abort", abort);
    x.onabort = () => reject(signal.reason);
    x.onerror = () => resolve({ ok: false, status: 0, error: new Error("The network failed while sending the file.") });
    x.onload = () => resolve({ ok: x.status < 300, status: x.status, error: putError(x) });
    x.send(blob);
  });
}

// putError is the error of a refused PUT: the API's problem, or the
// message of a store's XML error (S3).
function putError(x) {
  try {
    return new ProblemError(x.status, JSON.parse(x.responseText));
  } catch {
    const m = /<Message>([^<]*)<\/Message>/.exec(x.responseText || "");
    return new ProblemError(x.status, { detail: m ? m[1] : `The storage refused the upload (HTTP ${x.status}).` });
  }
}

// Slots limits how many of something run at once: acquire waits for a free
// slot (or rejects when signal aborts), release frees one.
export class Slots {
  constructor(n) {
    this.free = n;
    this.waiting = [];
  }

  acquire(signal) {
    signal.throwIfAborted();
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const w = { resolve };
      this.waiting.push(w);
      signal.addEventListener("abort", () => {
        const i = this.waiting.indexOf(w);
        if (i < 0) return;
        this.waiting.splice(i, 1);
        reject(signal.reason);
      }, { once: true });
    });
  }

  release() {
    const w = this.waiting.shift();
    if (w) w.resolve();
    else this.free++;
  }
}
