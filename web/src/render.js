// DOM helpers. Everything shown came from strangers (prompts, tool arguments, key names), so
// text only ever enters the page as text nodes or textContent: never innerHTML, never an href.

// el('td', {className: 'x'}, 'text', childNode, …). Attributes go through a fixed list of safe
// properties; strings become text nodes.
const SAFE_PROPS = new Set([
  'className', 'id', 'type', 'value', 'name', 'title', 'disabled', 'hidden', 'tabIndex',
  'htmlFor', 'placeholder', 'rows', 'checked',
]);

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k.startsWith('aria-') || k.startsWith('data-') || k === 'role') node.setAttribute(k, String(v));
    else if (SAFE_PROPS.has(k)) node[k] = v;
    else throw new Error(`el: property ${k} is not allowed`);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export function time(us) {
  const d = new Date(us / 1000);
  return d.toLocaleTimeString([], { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
}

export function actionBadge(action) {
  return el('span', { className: `action action-${action}` }, action);
}

// The redacted excerpt: findings highlighted, masked ones shown as their placeholder.
export function excerpt(segments, truncated) {
  const p = el('p', { className: 'excerpt' });
  for (const s of segments ?? []) {
    if (s.finding) {
      p.append(el('mark', { title: s.masked ? `${s.finding} (masked)` : s.finding,
                            className: s.masked ? 'masked' : '' }, s.text));
    } else {
      p.append(document.createTextNode(s.text));
    }
  }
  if (truncated) p.append(el('span', { className: 'muted' }, ' …'));
  return p;
}

export function plainExcerpt(segments, max = 90) {
  let t = (segments ?? []).map((s) => s.text).join('');
  if (t.length > max) t = t.slice(0, max) + '…';
  return t;
}

export function definitionList(pairs) {
  const dl = el('dl');
  for (const [k, v] of pairs) {
    if (v === undefined || v === null || v === '') continue;
    dl.append(el('dt', {}, k), el('dd', {}, v instanceof Node ? v : String(v)));
  }
  return dl;
}

export function eventDetail(e) {
  const wrap = el('div', { className: 'detail' });
  wrap.append(
    el('h3', {}, actionBadge(e.action), ' ', e.rule || '(default decision)'),
    definitionList([
      ['Time', e.time], ['Request', e.request_id], ['Direction', e.direction], ['Key', e.key],
      ['Tenant', e.tenant], ['Tool', e.tool], ['Message', e.message],
      ['Screening', e.latency_us ? `${e.latency_us.toFixed(1)} µs` : ''],
    ]),
    el('h4', {}, 'Text (redacted)'),
    excerpt(e.excerpt, e.truncated),
  );
  if (e.findings?.length) {
    wrap.append(el('h4', {}, 'Findings'),
      el('ul', {}, e.findings.map((f) => el('li', {}, `${f.type} (${f.scanner}) at ${f.start}–${f.end}, score ${f.score.toFixed(2)}`))));
  }
  if (e.scores?.length) {
    wrap.append(el('h4', {}, 'Top scores'),
      el('ul', {}, e.scores.map(([label, s]) => el('li', {}, `${label}: ${s.toFixed(3)}`))));
  }
  return wrap;
}
