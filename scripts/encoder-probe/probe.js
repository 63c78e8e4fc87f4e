// For each held-out source S: trains a small network (one hidden layer of 256 ReLU units,
// Adam, class-balanced) on the encoder's vectors of the train sample without S, and compares
// recall on S at 2% false positives on the safe dev sample (other sources) for
//   bow:   Warden's quick model trained without S (`warden scan` verdicts in scan_S.jsonl),
//   enc:   the network alone,
//   sum:   both, each standardised on the safe rows, added,
//   top10: sum, but only for texts whose bow score is in the top 10% of the safe rows (a
//          cascade that encodes one text in ten); the rest keep bow.
//   node probe.js OUT_DIR HELD_OUT_SOURCE...
const fs = require("fs");
const path = require("path");
const D = 512;

const [outDir, ...heldOut] = process.argv.slice(2);
const meta = [];
const chunks = [];
for (const part of [0, 1]) {
  const m = fs.readFileSync(path.join(outDir, `meta${part}.jsonl`), "utf8").split("\n").filter(Boolean).map(JSON.parse);
  const b = fs.readFileSync(path.join(outDir, `emb${part}.f32`));
  const n = Math.min(m.length, b.length / 4 / D);
  meta.push(...m.slice(0, n));
  chunks.push(new Float32Array(b.buffer, b.byteOffset, n * D));
}
const vectors = new Float32Array(meta.length * D);
vectors.set(chunks[0], 0);
vectors.set(chunks[1], chunks[0].length);
const row = (i) => vectors.subarray(i * D, (i + 1) * D);
const y = meta.map((m) => (m.label === "unsafe" ? 1 : 0));

function train(rows, hidden = 256, epochs = 10, lr = 0.003, l2 = 1e-5) {
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

console.log("source              positives  bow    enc    sum    top10");
for (const source of heldOut) {
  const bow = new Map();
  for (const line of fs.readFileSync(path.join(outDir, `scan_${source}.jsonl`), "utf8").split("\n")) {
    if (!line) continue;
    const v = JSON.parse(line);
    bow.set(v.id, logit((v.scores && v.scores.unsafe) || 0));
  }
  const trainRows = meta.map((m, i) => i).filter((i) => meta[i].sample === "train" && meta[i].source !== source);
  const network = train(trainRows);
  const rows = meta.map((m, i) => i).filter((i) => meta[i].sample === "eval" && bow.has(meta[i].id))
                   .map((i) => ({ m: meta[i], bow: bow.get(meta[i].id), enc: network(row(i)) }));
  const safe = rows.filter((r) => r.m.split === "dev" && r.m.source !== source && r.m.label === "safe");
  const positives = rows.filter((r) => r.m.source === source && r.m.label === "unsafe");
  const standardise = (key) => {
    const xs = safe.map((r) => r[key]);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
    return (r) => (r[key] - mean) / sd;
  };
  const zb = standardise("bow");
  const ze = standardise("enc");
  const bandStart = threshold(safe.map((r) => r.bow), 0.1);
  const scores = {
    bow: (r) => r.bow,
    enc: (r) => r.enc,
    sum: (r) => zb(r) + ze(r),
    top10: (r) => (r.bow >= bandStart ? zb(r) + ze(r) : -1e9),
  };
  const cells = Object.values(scores).map((s) => recall(positives, s, threshold(safe.map(s), 0.02)));
  console.log(`${source.padEnd(20)}${String(positives.length).padEnd(11)}${cells.join("  ")}`);
}
