// What probe.js and dev.js share: the encoder vectors embed*.js wrote, a small network over
// them, and the threshold rule.
const fs = require("fs");
const path = require("path");
const D = 512;

// Vectors and metadata of `prefix`0/1 (emb / meta, or dev-emb / dev-meta) in OUT_DIR.
function load(outDir, vectorPrefix, metaPrefix) {
  const meta = [];
  const chunks = [];
  for (const part of [0, 1]) {
    const m = fs.readFileSync(path.join(outDir, `${metaPrefix}${part}.jsonl`), "utf8").split("\n").filter(Boolean).map(JSON.parse);
    const b = fs.readFileSync(path.join(outDir, `${vectorPrefix}${part}.f32`));
    const n = Math.min(m.length, b.length / 4 / D);
    meta.push(...m.slice(0, n));
    chunks.push(new Float32Array(b.buffer, b.byteOffset, n * D));
  }
  const vectors = new Float32Array(meta.length * D);
  vectors.set(chunks[0], 0);
  vectors.set(chunks[1], chunks[0].length);
  return { meta, row: (i) => vectors.subarray(i * D, (i + 1) * D), y: meta.map((m) => (m.label === "unsafe" ? 1 : 0)) };
}

// Trains on rows `rows` of `data` (from load); returns the network's logit of a vector.
function train(data, rows, hidden = 256, epochs = 10, lr = 0.003, l2 = 1e-5) {
  const { row, y } = data;
  let state = 1;
  const random = () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
  const H = hidden;
  const w1 = new Float32Array(D * H).map(() => (random() - 0.5) * 2 * Math.sqrt(6 / (D + H)));
  const b1 = new Float32Array(H);
  const w2 = new Float32Array(H);
  const b2 = new Float32Array(1);
  const params = [w1, b1, w2, b2];
  const m = params.map((p) => new Float32Array(p.length));
  const v = params.map((p) => new Float32Array(p.length));
  const g = params.map((p) => new Float32Array(p.length));
  const positives = rows.filter((i) => y[i]).length;
  const weight = [rows.length / (2 * (rows.length - positives)), rows.length / (2 * positives)];
  const h = new Float32Array(H);
  const forward = (x) => {
    let z = b2[0];
    for (let j = 0; j < H; j++) {
      let a = b1[j];
      for (let d = 0; d < D; d++) a += x[d] * w1[d * H + j];
      h[j] = a > 0 ? a : 0;
      z += h[j] * w2[j];
    }
    return z;
  };
  let t = 0;
  const batch = 64;
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = rows.slice();
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (let start = 0; start < order.length; start += batch) {
      g.forEach((a) => a.fill(0));
      const n = Math.min(batch, order.length - start);
      for (let k = start; k < start + n; k++) {
        const i = order[k];
        const x = row(i);
        const p = 1 / (1 + Math.exp(-forward(x)));
        const e = ((p - y[i]) * weight[y[i]]) / n;
        g[3][0] += e;
        for (let j = 0; j < H; j++) {
          g[2][j] += e * h[j];
          if (h[j] <= 0) continue;
          const eh = e * w2[j];
          g[1][j] += eh;
          for (let d = 0; d < D; d++) g[0][d * H + j] += eh * x[d];
        }
      }
      t++;
      const c1 = 1 - Math.pow(0.9, t);
      const c2 = 1 - Math.pow(0.999, t);
      params.forEach((p, k) => {
        for (let j = 0; j < p.length; j++) {
          const grad = g[k][j] + l2 * p[j];
          m[k][j] = 0.9 * m[k][j] + 0.1 * grad;
          v[k][j] = 0.999 * v[k][j] + 0.001 * grad * grad;
          p[j] -= (lr * (m[k][j] / c1)) / (Math.sqrt(v[k][j] / c2) + 1e-8);
        }
      });
    }
  }
  return forward;
}

const logit = (p) => {
  p = Math.min(Math.max(p, 1e-6), 1 - 1e-6);
  return Math.log(p / (1 - p));
};
// The score that flags `fraction` of `scores`.
const threshold = (scores, fraction) => scores.slice().sort((a, b) => b - a)[Math.floor(fraction * scores.length)];
const recall = (positives, score, t) => (positives.filter((r) => score(r) > t).length / positives.length).toFixed(3);

// Average precision of `scores` against labels `y` (1 = positive).
function auprc(scores, y) {
  const order = scores.map((s, i) => i).sort((a, b) => scores[b] - scores[a]);
  const positives = y.filter(Boolean).length;
  let hits = 0;
  let sum = 0;
  order.forEach((i, rank) => {
    if (y[i]) sum += ++hits / (rank + 1);
  });
  return sum / positives;
}

// Standardises field `key` of a row by its mean and deviation over `rows`.
function standardiser(rows, key) {
  const xs = rows.map((r) => r[key]);
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
  return (r) => (r[key] - mean) / sd;
}

// The four scores compared (rows with `bow` and `enc` logits; `safe` the safe rows): bow, enc,
// their standardised sum, and top10, the sum only for rows whose bow score is in the top 10%
// of the safe rows' (a cascade that encodes one safe text in ten), ranked above the others,
// which keep bow. Also returns where that band starts.
function scoreVariants(safe) {
  const zb = standardiser(safe, "bow");
  const ze = standardiser(safe, "enc");
  const bandStart = threshold(safe.map((r) => r.bow), 0.1);
  const scores = {
    bow: (r) => r.bow,
    enc: (r) => r.enc,
    sum: (r) => zb(r) + ze(r),
    top10: (r) => (r.bow >= bandStart ? 1000 + zb(r) + ze(r) : zb(r)),
  };
  return { scores, bandStart };
}

module.exports = { D, load, train, logit, threshold, recall, auprc, scoreVariants };
