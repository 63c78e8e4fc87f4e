// The overview's charts: uPlot (from npm, served by the gateway from web/node_modules) over the
// per-second series the gateway keeps for the last hour.

let uPlot = null;
try {
  ({ default: uPlot } = await import('/ui/vendor/uPlot.esm.js'));
} catch (e) {
  console.error('uPlot is missing (run npm ci in web/):', e);
}

const COLORS = { a: '#2563eb', b: '#dc2626', c: '#d97706', d: '#7c3aed' };

function make(container, series) {
  if (!uPlot) {
    container.textContent = 'Charts need uPlot: run `npm ci` in web/ (./scripts/install-deps.sh does).';
    return null;
  }
  const opts = {
    width: Math.max(280, container.clientWidth || 480),
    height: 180,
    legend: { show: true },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
    axes: [{}, { size: 50 }],
    series: [{}, ...series.map(([label, color]) => ({ label, stroke: color, width: 1.5, spanGaps: false, points: { show: true, size: 3 } }))],
  };
  return new uPlot(opts, [[], ...series.map(() => [])], container);
}

export class Charts {
  constructor() {
    this.x = [];
    this.cols = {};
    this.names = ['requests', 'block', 'redact', 'escalate', 'screening_p50_ms', 'screening_p99_ms',
                  'upstream_p50_ms', 'upstream_p99_ms'];
    for (const n of this.names) this.cols[n] = [];
    this.requests = make(document.getElementById('chart-requests'), [['requests/s', COLORS.a]]);
    this.actions = make(document.getElementById('chart-actions'),
                        [['block', COLORS.b], ['redact', COLORS.a], ['escalate', COLORS.c]]);
    this.screening = make(document.getElementById('chart-screening'), [['p50', COLORS.a], ['p99', COLORS.d]]);
    this.upstream = make(document.getElementById('chart-upstream'), [['p50', COLORS.a], ['p99', COLORS.d]]);
    this.last = 0;
    window.addEventListener('resize', () => this.resize());
  }

  // Appends the seconds in `s` (a /admin/api/overview series) and redraws.
  add(s) {
    const n = s.requests.length;
    const first = s.start;
    // A second may be sent twice (it was still filling): replace it.
    while (this.x.length && this.x[this.x.length - 1] >= first) {
      this.x.pop();
      for (const k of this.names) this.cols[k].pop();
    }
    for (let i = 0; i < n; i++) {
      this.x.push(first + i);
      for (const k of this.names) this.cols[k].push(s[k][i]);
    }
    const keep = 3600;
    if (this.x.length > keep) {
      const drop = this.x.length - keep;
      this.x.splice(0, drop);
      for (const k of this.names) this.cols[k].splice(0, drop);
    }
    this.last = s.end;
    const c = this.cols;
    this.requests?.setData([this.x, c.requests]);
    this.actions?.setData([this.x, c.block, c.redact, c.escalate]);
    this.screening?.setData([this.x, c.screening_p50_ms, c.screening_p99_ms]);
    this.upstream?.setData([this.x, c.upstream_p50_ms, c.upstream_p99_ms]);
  }

  // Totals over the last `seconds` seconds.
  totals(seconds = 60) {
    const from = Math.max(0, this.x.length - seconds);
    const sum = (k) => this.cols[k].slice(from).reduce((a, b) => a + (b ?? 0), 0);
    return { requests: sum('requests'), block: sum('block'), redact: sum('redact'), escalate: sum('escalate') };
  }

  resize() {
    for (const id of ['requests', 'actions', 'screening', 'upstream']) {
      const chart = this[id];
      if (!chart) continue;
      const w = chart.root.parentElement.clientWidth;
      if (w > 0) chart.setSize({ width: w, height: 180 });
    }
  }
}
