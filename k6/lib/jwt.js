// Kling's HS256 JWT (iss = access key, exp, nbf), signed with k6/crypto: no external JS.
import crypto from 'k6/crypto';
import encoding from 'k6/encoding';

const LIFETIME = 1800; // seconds, as Kling's sample client
const cache = {};

function b64url(text) {
  return encoding.b64encode(text, 'rawurl');
}

export function sign(claims, secret) {
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify(claims));
  const signature = crypto.hmac('sha256', secret, `${head}.${body}`, 'base64rawurl');
  return `${head}.${body}.${signature}`;
}

// A token for the key pair, reused until five minutes before it expires.
export function klingToken(ak, sk) {
  const now = Math.floor(Date.now() / 1000);
  const held = cache[ak];
  if (held && held.exp - now > 300) return held.token;
  const exp = now + LIFETIME;
  const token = sign({ iss: ak, exp, nbf: now - 5 }, sk);
  cache[ak] = { token, exp };
  return token;
}
