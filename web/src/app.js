// Warden's dashboard: overview charts, live feed, audit explorer, review queue, kill switch and
// policy editor, over the gateway's admin API (docs/dashboard.md). Plain ES modules, no build.
import { api, startSession, logout, followFeed } from '/ui/api.js';
import { el, clear, time, actionBadge, excerpt, plainExcerpt, eventDetail } from '/ui/render.js';
import { Charts } from '/ui/charts.js';

const $ = (id) => document.getElementById(id);

// ---- Tabs (WAI-ARIA tabs: arrow keys move between them) ----------------------------------
const tabs = [...document.querySelectorAll('[role=tab]')];
function selectTab(tab, focus = true) {
  for (const t of tabs) {
    const on = t === tab;
    t.setAttribute('aria-selected', String(on));
    t.tabIndex = on ? 0 : -1;
    $(t.getAttribute('aria-controls')).hidden = !on;
  }
  if (focus) tab.focus();
  const panel = tab.getAttribute('aria-controls');
  if (panel === 'overview') charts?.resize();
  if (panel === 'review') refreshReview();
  if (panel === 'kill') refreshKills();
  if (panel === 'policy' && !policyLoaded) loadPolicy();
  if (panel === 'audit' && !auditLoaded) searchAudit();
}
for (const t of tabs) {
  t.addEventListener('click', () => selectTab(t));
  t.addEventListener('keydown', (e) => {
    const i = tabs.indexOf(t);
    if (e.key === 'ArrowRight') selectTab(tabs[(i + 1) % tabs.length]);
    else if (e.key === 'ArrowLeft') selectTab(tabs[(i - 1 + tabs.length) % tabs.length]);
    else if (e.key === 'Home') selectTab(tabs[0]);
    else if (e.key === 'End') selectTab(tabs[tabs.length - 1]);
  });
}

function showError(node, e) {
  node.textContent = `Error: ${e.message}`;
  node.className = 'error';
}

// ---- Overview -----------------------------------------------------------------------------
let charts = null;
function topList(node, items) {
  clear(node);
  if (!items.length) node.append(el('li', { className: 'muted' }, 'nothing yet'));
  for (const [name, count] of items) node.append(el('li', {}, el('span', {}, name), el('span', { className: 'count' }, String(count))));
}
async function refreshOverview() {
  try {
    const o = await api(`/admin/api/overview${charts?.last ? `?since=${charts.last - 2}` : ''}`);
    const g = o.gateway;
    $('gateway-info').textContent =
      `Policy ${g.policy} · upstream ${g.upstream || 'none'} · audit ${g.audit || 'off'} · agent control ${g.control ? 'on' : 'off'}`;
    charts.add(o.series);
    const t = charts.totals(60);
    $('stat-requests').textContent = t.requests;
    $('stat-block').textContent = t.block;
    $('stat-redact').textContent = t.redact;
    $('stat-escalate').textContent = t.escalate;
    topList($('top-categories'), o.series.top_categories);
    topList($('top-rules'), o.series.top_rules);
  } catch (e) {
    console.warn(e);
  }
}

// ---- Live feed ----------------------------------------------------------------------------
const events = [];  // newest last
const MAX_ROWS = 500;
const filters = $('feed-filters');
function matches(e) {
  const f = new FormData(filters);
  const action = f.get('action');
  const category = String(f.get('category') || '').trim().toLowerCase();
  const key = String(f.get('key') || '').trim();
  const tenant = String(f.get('tenant') || '').trim();
  if (action && e.action !== action) return false;
  if (category && !e.categories.some((c) => c.toLowerCase().includes(category))) return false;
  if (key && e.key !== key) return false;
  if (tenant && e.tenant !== tenant) return false;
  return true;
}
function feedRow(e) {
  const tr = el('tr', { tabIndex: 0, 'data-id': e.id, 'aria-label': `${e.action} ${e.direction} ${e.rule}` },
    el('td', {}, time(e.time_us)), el('td', {}, actionBadge(e.action)), el('td', {}, e.direction),
    el('td', {}, e.key), el('td', {}, e.tenant), el('td', {}, e.rule),
    el('td', { className: 'text' }, plainExcerpt(e.excerpt)));
  const open = () => {
    for (const r of $('feed-rows').querySelectorAll('[aria-selected=true]')) r.setAttribute('aria-selected', 'false');
    tr.setAttribute('aria-selected', 'true');
    clear($('event-detail')).append(eventDetail(e));
  };
  tr.addEventListener('click', open);
  tr.addEventListener('keydown', (k) => {
    if (k.key === 'Enter' || k.key === ' ') {
      k.preventDefault();
      open();
    }
  });
  return tr;
}
function renderFeed() {
  const body = clear($('feed-rows'));
  const shown = events.filter(matches).slice(-200).reverse();
  for (const e of shown) body.append(feedRow(e));
}
let feedPending = false;
function onEvent(e) {
  events.push(e);
  if (events.length > MAX_ROWS) events.shift();
  if (e.action === 'escalate') refreshReview();
  if (filters.elements.paused.checked) return;
  if (!feedPending) {
    feedPending = true;
    requestAnimationFrame(() => {
      feedPending = false;
      renderFeed();
    });
  }
}
filters.addEventListener('input', renderFeed);
filters.addEventListener('submit', (e) => e.preventDefault());

// ---- Audit --------------------------------------------------------------------------------
let auditLoaded = false;
let auditSearch = 0;  // only the latest search may fill the table
function localToMicros(v) {
  return v ? String(new Date(v).getTime() * 1000) : '';
}
async function searchAudit(ev) {
  ev?.preventDefault();
  auditLoaded = true;
  const f = new FormData($('audit-form'));
  const q = new URLSearchParams();
  for (const k of ['key', 'tenant', 'action', 'category', 'rule']) if (f.get(k)) q.set(k, f.get(k));
  if (f.get('since')) q.set('since', localToMicros(f.get('since')));
  if (f.get('until')) q.set('until', localToMicros(f.get('until')));
  q.set('limit', '200');
  const mine = ++auditSearch;
  try {
    const r = await api(`/admin/api/audit?${q}`);
    if (mine !== auditSearch) return;
    $('audit-summary').textContent = `${r.matched} matching records; newest ${r.records.length} shown.`;
    const body = clear($('audit-rows'));
    for (const rec of r.records) {
      const tr = el('tr', { tabIndex: 0, 'data-seq': rec.seq },
        el('td', {}, String(rec.seq)), el('td', {}, rec.time), el('td', {}, actionBadge(rec.action)),
        el('td', {}, rec.direction), el('td', {}, rec.key), el('td', {}, rec.tenant), el('td', {}, rec.rule));
      const open = () => openRecord(rec.seq);
      tr.addEventListener('click', open);
      tr.addEventListener('keydown', (k) => { if (k.key === 'Enter') open(); });
      body.append(tr);
    }
  } catch (e) {
    showError($('audit-summary'), e);
  }
}
async function openRecord(seq) {
  try {
    const rec = await api(`/admin/api/audit/${seq}`);
    clear($('audit-detail')).append(
      el('h3', {}, `Record ${rec.seq}`),
      el('pre', { className: 'json' }, JSON.stringify(rec, null, 2)));
  } catch (e) {
    showError($('audit-detail'), e);
  }
}
$('audit-form').addEventListener('submit', searchAudit);
$('audit-verify').addEventListener('click', async () => {
  const out = $('audit-verify-result');
  out.className = '';
  out.textContent = 'Verifying…';
  try {
    const r = await api('/admin/api/audit/verify', { method: 'POST', body: {} });
    out.className = r.ok ? 'ok' : 'error';
    out.textContent = r.ok
      ? `Verified: ${r.records} records, ${r.checkpoints} checkpoints${r.signatures_checked ? `, signed through ${r.signed_through}` : ' (signatures not checked: no signing key configured)'}; the chain is intact.`
      : `TAMPERED: ${r.in_checkpoint ? 'checkpoint' : 'record'} ${r.first_bad_seq}: ${r.problem}`;
  } catch (e) {
    showError(out, e);
  }
});

// ---- Review queue -------------------------------------------------------------------------
function decisionForm(label, buttons, onDecide) {
  const note = el('input', { name: 'note', placeholder: 'note (optional)' });
  const form = el('form', { className: 'decide' }, el('label', {}, `Note for ${label} `, note));
  for (const [text, value, cls] of buttons) {
    const b = el('button', { type: 'button', className: cls }, text);
    b.addEventListener('click', async () => {
      for (const x of form.querySelectorAll('button')) x.disabled = true;
      try {
        await onDecide(value, note.value);
      } catch (e) {
        alert(e.message);
      }
      refreshReview();
    });
    form.append(b);
  }
  return form;
}
async function refreshReview() {
  try {
    const r = await api('/admin/api/review');
    const list = clear($('approvals'));
    const approvals = r.approvals ?? [];
    if (r.approvals === null) list.append(el('li', { className: 'muted' }, 'Agent control is off.'));
    else if (!approvals.length) list.append(el('li', { className: 'muted' }, 'Nothing waiting.'));
    for (const a of approvals) {
      list.append(el('li', { className: 'card', 'data-approval': a.id },
        el('h4', {}, `Tool call `, el('code', {}, a.tool), ` — ${a.id}`),
        el('dl', {}, el('dt', {}, 'Key'), el('dd', {}, a.key), el('dt', {}, 'Tenant'), el('dd', {}, a.tenant),
          el('dt', {}, 'Rule'), el('dd', {}, a.rule), el('dt', {}, 'Why'), el('dd', {}, a.reason),
          el('dt', {}, 'Expires'), el('dd', {}, new Date(a.expires_us / 1000).toLocaleTimeString())),
        el('pre', { className: 'json' }, a.arguments),
        decisionForm(a.id, [['Approve', 'approve', 'ok'], ['Deny', 'deny', 'danger']],
          (verb, note) => api(`/admin/approvals/${encodeURIComponent(a.id)}/${verb}`, { method: 'POST', body: { note } }))));
    }
    const esc = clear($('escalations'));
    if (!r.escalations.length) esc.append(el('li', { className: 'muted' }, 'Nothing escalated.'));
    for (const x of r.escalations) {
      const e = x.event;
      esc.append(el('li', { className: 'card', 'data-event': e.id }, eventDetail(e),
        decisionForm(`decision ${e.id}`, [['Confirm problem', 'confirmed', 'danger'], ['Dismiss', 'dismissed', 'secondary']],
          (state, note) => api(`/admin/api/review/${e.id}`, { method: 'POST', body: { state, note } }))));
    }
    const n = approvals.length + r.escalations.length;
    $('review-count').textContent = n ? String(n) : '';
  } catch (e) {
    console.warn(e);
  }
}

// ---- Kill switch --------------------------------------------------------------------------
async function refreshKills() {
  try {
    const r = await api('/admin/kills');
    const list = clear($('kills'));
    if (!r.kills.length) list.append(el('li', { className: 'muted' }, 'No kill switch is engaged: traffic flows.'));
    for (const k of r.kills) {
      const revive = el('button', { type: 'button', className: 'ok' }, 'Revive');
      revive.addEventListener('click', async () => {
        await api('/admin/revive', { method: 'POST', body: { scope: k.scope, value: k.value } });
        $('kill-result').textContent = `Revived ${k.scope} ${k.value}`.trim() + '.';
        refreshKills();
      });
      list.append(el('li', { className: 'card killed' },
        el('strong', {}, k.scope === 'all' ? 'Everything is stopped' : `${k.scope}: `), k.value, ' ',
        el('span', { className: 'muted' }, k.note ? `— ${k.note}` : ''), ' ', revive));
    }
    $('kill-count').textContent = r.kills.length ? String(r.kills.length) : '';
  } catch (e) {
    showError($('kill-result'), e);
  }
}
$('kill-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const scope = f.get('scope');
  const value = String(f.get('value') || '').trim();
  if (scope !== 'all' && !value) {
    $('kill-result').textContent = `Name the ${scope} to stop.`;
    return;
  }
  $('kill-confirm-text').textContent = scope === 'all'
    ? 'Every request through this gateway will be refused, and live streams end now.'
    : `Requests of ${scope} "${value}" will be refused, and its live streams end now.`;
  const dialog = $('kill-confirm');
  dialog.returnValue = '';
  dialog.showModal();
  dialog.addEventListener('close', async () => {
    if (dialog.returnValue !== 'confirm') return;
    try {
      await api('/admin/kill', { method: 'POST', body: { scope, value: scope === 'all' ? '' : value, note: String(f.get('note') || '') } });
      $('kill-result').textContent = scope === 'all' ? 'Everything is stopped.' : `Stopped ${scope} ${value}.`;
    } catch (e) {
      showError($('kill-result'), e);
    }
    refreshKills();
  }, { once: true });
});

// ---- Policy -------------------------------------------------------------------------------
let policyLoaded = false;
let policyText = '';
const editor = $('policy-text');
function gutter(errorLine = 0) {
  const g = clear($('policy-gutter'));
  const lines = editor.value.split('\n').length;
  for (let i = 1; i <= lines; i++) {
    g.append(el('span', { className: i === errorLine ? 'error-line' : '' }, String(i)), '\n');
  }
  g.scrollTop = editor.scrollTop;
}
editor.addEventListener('input', () => gutter());
editor.addEventListener('scroll', () => { $('policy-gutter').scrollTop = editor.scrollTop; });
async function loadPolicy() {
  try {
    const p = await api('/admin/api/policy');
    policyLoaded = true;
    policyText = p.text;
    $('policy-path').textContent = p.path;
    editor.value = p.text;
    gutter();
  } catch (e) {
    showError($('policy-result'), e);
  }
}
function selectLine(line) {
  const lines = editor.value.split('\n');
  let start = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) start += lines[i].length + 1;
  const end = start + (lines[line - 1]?.length ?? 0);
  editor.focus();
  editor.setSelectionRange(start, end);
  const lineHeight = parseFloat(getComputedStyle(editor).lineHeight) || 18;
  editor.scrollTop = Math.max(0, (line - 5) * lineHeight);
}
function showPolicyResult(r, saved) {
  const out = clear($('policy-result'));
  if (r.ok) {
    out.className = 'ok';
    out.append(el('p', {}, saved ? 'Saved and reloaded: the gateway now enforces this policy.' : 'Valid.',
      r.info ? ` ${r.info.rules} rules, ${r.info.tool_rules} tool rules; scanners: ${r.info.scanners.join(', ')}.` : ''));
    gutter();
    return;
  }
  out.className = 'error';
  const list = el('ul', { id: 'policy-errors' });
  for (const e of r.errors) {
    const where = e.line ? `Line ${e.line}, column ${e.column}: ` : '';
    const item = el('li', { 'data-line': e.line }, where, e.message);
    if (e.line) {
      const go = el('button', { type: 'button', className: 'secondary' }, `Go to line ${e.line}`);
      go.addEventListener('click', () => selectLine(e.line));
      item.append(' ', go);
    }
    list.append(item);
  }
  out.append(el('p', {}, 'The policy is not valid; nothing was changed.'), list);
  const first = r.errors.find((e) => e.line);
  gutter(first?.line ?? 0);
  if (first) selectLine(first.line);
}
$('policy-validate').addEventListener('click', async () => {
  try {
    showPolicyResult(await api('/admin/api/policy/validate', { method: 'POST', body: { text: editor.value } }), false);
  } catch (e) {
    showError($('policy-result'), e);
  }
});
$('policy-save').addEventListener('click', async () => {
  if (!window.confirm('Save this policy and reload the gateway with it?')) return;
  try {
    const r = await api('/admin/api/policy', { method: 'POST', body: { text: editor.value } });
    showPolicyResult(r, true);
    if (r.ok) policyText = editor.value;
  } catch (e) {
    showError($('policy-result'), e);
  }
});
$('policy-revert').addEventListener('click', () => {
  editor.value = policyText;
  clear($('policy-result'));
  gutter();
});

// ---- Start --------------------------------------------------------------------------------
$('logout').addEventListener('click', logout);
await startSession();
charts = new Charts();
await refreshOverview();
setInterval(refreshOverview, 2000);
setInterval(() => {
  if (!$('review').hidden) refreshReview();
  if (!$('kill').hidden) refreshKills();
}, 2000);
refreshReview();
refreshKills();
followFeed(onEvent, (state) => { $('feed-status').textContent = `feed: ${state}`; });
document.body.dataset.ready = 'true';
