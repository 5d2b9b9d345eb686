// The records of unfinished uploads, kept in localStorage (one map per
// account, by upload id) so that an upload cut off by a reload or a
// sign-out can be offered for resuming: what was declared, and how it was
// split into parts.
import { api } from "./lib.js";

const storeKey = (acct) => `mediagate.uploads.${acct}`;

// records returns the account's records by upload id.
export function records(acct) {
  try {
    return JSON.parse(localStorage.getItem(storeKey(acct))) || {};
  } catch {
    return {};
  }
}

// keep records the upload u (see upload.js) under its account.
export function keep(u) {
  const all = records(u.acct);
  all[u.id] = { id: u.id, filename: u.name, size: u.size, type: u.type, lastModified: u.file.lastModified,
    multipart: u.multipart, partSize: u.partSize, partCount: u.partCount, expiresAt: u.expiresAt };
  localStorage.setItem(storeKey(u.acct), JSON.stringify(all));
}

// forget drops the account's record of upload id.
export function forget(acct, id) {
  const all = records(acct);
  delete all[id];
  if (Object.keys(all).length) localStorage.setItem(storeKey(acct), JSON.stringify(all));
  else localStorage.removeItem(storeKey(acct));
}

// storedOf answers how many bytes of rec the server has (null: none of
// its upload), or throws the API's problem.
export async function storedOf(rec) {
  if (rec.expiresAt && Date.parse(rec.expiresAt) <= Date.now()) return null;
  if (!rec.multipart) {
    const o = await api("GET", `/v1/objects/${rec.id}`);
    return o.state === "pending" ? 0 : null;
  }
  const { parts } = await api("GET", `/v1/uploads/${rec.id}/parts`);
  return parts.reduce((sum, p) => sum + p.size, 0);
}
