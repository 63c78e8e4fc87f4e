// Talks to the gateway's admin API with the session cookie (sent by the browser, HttpOnly) and the
// session's CSRF token in a header on every state change. The admin token never appears in a URL.

let csrf = null;
let csrfHeader = 'X-Warden-CSRF';

function toLogin() {
  window.location.assign('/ui/login');
}

export async function startSession() {
  const r = await fetch('/admin/api/session', { credentials: 'same-origin' });
  if (r.status === 401) return toLogin();
  const s = await r.json();
  csrf = s.csrf;
  csrfHeader = s.csrf_header || csrfHeader;
}

// Returns the parsed JSON body; throws an Error with the server's message on failure.
export async function api(path, { method = 'GET', body } = {}) {
  const headers = {};
  if (method !== 'GET') {
    if (csrf) headers[csrfHeader] = csrf;
    headers['Content-Type'] = 'application/json';
  }
  const r = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (r.status === 401) {
    toLogin();
    throw new Error('not logged in');
  }
  const text = await r.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!r.ok && !(data && 'ok' in data)) {
    const message = data?.error?.message ?? `${r.status} ${r.statusText}`;
    const e = new Error(message);
    e.status = r.status;
    throw e;
  }
  return data;
}

export async function logout() {
  await fetch('/ui/logout', { method: 'POST', headers: csrf ? { [csrfHeader]: csrf } : {}, credentials: 'same-origin' });
  toLogin();
}

// Server-sent events read with fetch() streaming, so no token or id travels in the URL and the
// cookie stays HttpOnly. Calls onEvent(parsed JSON) for each decision; reconnects after errors,
// resuming after the last id seen.
export function followFeed(onEvent, onState) {
  let last = 0;
  let stopped = false;
  async function run() {
    while (!stopped) {
      try {
        const r = await fetch(`/admin/api/feed${last ? `?after=${last}` : ''}`, { credentials: 'same-origin' });
        if (r.status === 401) return toLogin();
        if (!r.ok || !r.body) throw new Error(`feed: ${r.status}`);
        onState('live');
        const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let data = '';
            let id = 0;
            for (const line of block.split('\n')) {
              if (line.startsWith('data: ')) data += line.slice(6);
              else if (line.startsWith('id: ')) id = Number(line.slice(4));
            }
            if (!data) continue;
            if (id) last = id;
            try {
              onEvent(JSON.parse(data));
            } catch (e) {
              console.error('bad feed event', e);
            }
          }
        }
      } catch (e) {
        console.warn(e);
      }
      onState('reconnecting…');
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
  run();
  return () => {
    stopped = true;
  };
}
