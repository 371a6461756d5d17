// Signing in through the stack's default Cognito user pool, exactly as any Cognito client does:
// InitiateAuth (USER_PASSWORD_AUTH) on the endpoint, the NEW_PASSWORD_REQUIRED challenge, and
// REFRESH_TOKEN_AUTH before the access token expires. Tokens live in sessionStorage: they last
// as long as the tab, and another site's page can never read them.

const SESSION_KEY = "sluiceway.console.session";
const ROLES = ["viewer", "operator", "admin"]; // least privileged first; src/sluiceway/cognito/roles.py
const REFRESH_MARGIN_MS = 60_000;

let config = null;
let refreshing = null;

export class AuthError extends Error {
  constructor(code, message, status) {
    super(message || code);
    this.code = code;
    this.status = status; // Cognito's HTTP status
  }
}

/** The console's settings from the endpoint: region, userPoolId, clientId, apiPath. */
export async function loadConfig() {
  if (config === null) {
    const response = await fetch("/_sluiceway/console/config.json", { cache: "no-store" });
    if (!response.ok) throw new Error(`the console's settings could not be read (${response.status})`);
    config = await response.json();
  }
  return config;
}

// keepalive: a RevokeToken sent as the user signs out and leaves the page still goes out.
async function cognito(operation, body, { keepalive = false } = {}) {
  const response = await fetch("/", {
    method: "POST",
    headers: {
      "Content-Type": "application/x-amz-json-1.1",
      "X-Amz-Target": `AWSCognitoIdentityProviderService.${operation}`,
    },
    body: JSON.stringify(body),
    keepalive,
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const type = String(data.__type || "UnknownError");
    throw new AuthError(type.slice(type.lastIndexOf("#") + 1), data.message || data.Message || `sign-in failed (${response.status})`, response.status);
  }
  return data;
}

/** Whether Cognito refused the refresh token itself (revoked, expired, user disabled): signing in again is the only way on. */
function refused(error) {
  // 429 (TooManyRequestsException) is Cognito's throttling: the token may well be good.
  return error instanceof AuthError && error.status >= 400 && error.status < 500 && error.status !== 429;
}

function claimsOf(jwt) {
  const part = jwt.split(".")[1] || "";
  const text = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(text, (c) => c.charCodeAt(0))));
}

function store(result, previous) {
  const access = result.AccessToken;
  const claims = claimsOf(access);
  const session = {
    accessToken: access,
    refreshToken: result.RefreshToken || (previous && previous.refreshToken) || null,
    expiresAt: claims.exp * 1000,
    username: claims.username || claims.sub,
    groups: claims["cognito:groups"] || [],
  };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  return session;
}

/** The signed-in session, or null. */
export function session() {
  const text = sessionStorage.getItem(SESSION_KEY);
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    sessionStorage.removeItem(SESSION_KEY);
    return null;
  }
}

/**
 * Sign in with a user name and password. Resolves to {session} when signed in, or to
 * {challenge: "NEW_PASSWORD_REQUIRED", respond(newPassword)} when the user must set a password first.
 */
export async function signIn(username, password) {
  const { clientId } = await loadConfig();
  const result = await cognito("InitiateAuth", {
    AuthFlow: "USER_PASSWORD_AUTH",
    ClientId: clientId,
    AuthParameters: { USERNAME: username, PASSWORD: password },
  });
  if (result.ChallengeName === "NEW_PASSWORD_REQUIRED") {
    return {
      challenge: result.ChallengeName,
      respond: async (newPassword) => {
        const answer = await cognito("RespondToAuthChallenge", {
          ChallengeName: "NEW_PASSWORD_REQUIRED",
          ClientId: clientId,
          Session: result.Session,
          ChallengeResponses: { USERNAME: username, NEW_PASSWORD: newPassword },
        });
        return { session: store(answer.AuthenticationResult, null) };
      },
    };
  }
  if (!result.AuthenticationResult) throw new AuthError(result.ChallengeName || "UnsupportedChallenge", `the console cannot answer the ${result.ChallengeName} challenge`);
  return { session: store(result.AuthenticationResult, null) };
}

/**
 * Forget the session and, best effort, revoke its refresh token (Cognito's RevokeToken), so that a
 * copy of it can no longer mint access tokens. `revoke: false` when Cognito has refused it already.
 */
export function signOut({ revoke = true } = {}) {
  const current = session();
  sessionStorage.removeItem(SESSION_KEY);
  if (!revoke || !current || !current.refreshToken) return;
  loadConfig()
    .then(({ clientId }) => cognito("RevokeToken", { ClientId: clientId, Token: current.refreshToken }, { keepalive: true }))
    .catch((error) => console.warn("the refresh token could not be revoked", error));
}

/**
 * A valid access token (refreshed shortly before it expires), or null when the user must sign in
 * again: Cognito refused the refresh token. When Cognito cannot be reached (the network, a 5xx) the
 * session is kept: the current token while it lasts, else an error; the next call tries again.
 */
export async function accessToken() {
  const current = session();
  if (!current) return null;
  if (current.expiresAt - Date.now() > REFRESH_MARGIN_MS) return current.accessToken;
  if (!current.refreshToken) {
    signOut();
    return null;
  }
  if (refreshing === null) {
    refreshing = (async () => {
      try {
        const { clientId } = await loadConfig();
        const result = await cognito("InitiateAuth", {
          AuthFlow: "REFRESH_TOKEN_AUTH",
          ClientId: clientId,
          AuthParameters: { REFRESH_TOKEN: current.refreshToken },
        });
        return store(result.AuthenticationResult, current).accessToken;
      } catch (error) {
        if (refused(error)) {
          signOut({ revoke: false });
          return null;
        }
        if (current.expiresAt > Date.now()) return current.accessToken;
        throw new Error(`the session could not be refreshed (${error.message}); trying again`);
      } finally {
        refreshing = null;
      }
    })();
  }
  return refreshing;
}

/** Whether the signed-in user holds `role` or a more privileged one (viewer < operator < admin). */
export function can(role) {
  const current = session();
  if (!current) return false;
  const needed = ROLES.indexOf(role);
  return current.groups.some((group) => ROLES.indexOf(group) >= needed && needed >= 0);
}
