// The management API, as the signed-in user: every call carries the access token; a 401 signs out.

import { accessToken, loadConfig, signOut } from "./auth.js";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code);
    this.status = status;
    this.code = code;
  }
}

async function request(method, path, { params, body } = {}) {
  const { apiPath } = await loadConfig();
  const token = await accessToken();
  if (token === null) {
    window.dispatchEvent(new CustomEvent("sluiceway:signed-out"));
    throw new ApiError(401, "Unauthorized", "please sign in");
  }
  const url = new URL(apiPath + path, window.location.origin);
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, String(value));
  }
  const headers = { Authorization: `Bearer ${token}`, Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    if (response.status === 401) {
      signOut();
      window.dispatchEvent(new CustomEvent("sluiceway:signed-out"));
    }
    throw new ApiError(response.status, (data && data.error) || "Error", (data && data.message) || `${method} ${path} failed (${response.status})`);
  }
  return data;
}

/** A path segment: ARNs and names carry ':' and '/', which must reach the API as one segment. */
export function segment(value) {
  return encodeURIComponent(value);
}

export const api = {
  get: (path, params) => request("GET", path, { params }),
  post: (path, body) => request("POST", path, { body }),
  put: (path, body) => request("PUT", path, { body }),
  del: (path) => request("DELETE", path),
};
