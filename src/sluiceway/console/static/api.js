// The management API, as the signed-in user: every call carries the access token; a 401 signs out.

import { accessToken, loadConfig, signOut } from "./auth.js";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code);
    this.status = status;
    this.code = code;
  }
}

// `body` is sent as JSON.stringify makes it; `raw`, a JSON text already, is sent as it is.
async function request(method, path, { params, body, raw } = {}) {
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
  const text = raw !== undefined ? raw : body !== undefined ? JSON.stringify(body) : undefined;
  if (text !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(url, { method, headers, body: text });
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

/**
 * A path segment: ARNs and names carry ':' and '/', which must reach the API as one segment.
 * "." and ".." cannot be one: URLs resolve them (escaped as %2E too) before a request is sent, so
 * /states/.. would ask for the execution itself. They are refused rather than sent somewhere else.
 */
export function segment(value) {
  const text = String(value);
  if (text === "." || text === "..") throw new ApiError(400, "InvalidPathSegment", `“${text}” cannot be sent as a part of a URL: browsers resolve it as a relative path.`);
  return encodeURIComponent(text);
}

export const api = {
  get: (path, params) => request("GET", path, { params }),
  post: (path, body) => request("POST", path, { body }),
  /** POST a JSON text as it is: numbers JSON.parse would round (9007199254740993, 1.0) reach the API unchanged. */
  postRaw: (path, text) => request("POST", path, { raw: text }),
  put: (path, body) => request("PUT", path, { body }),
  del: (path) => request("DELETE", path),
};
