// The dev splits as issue 3 measures them (all 21,512 rows, pooled): the shipped model's unsafe
// score (`warden scan` verdicts in scan_dev.jsonl), a network over the encoder's vectors trained
// on the train sample of every source (probe.js's network), and the two combined as in
// probe.js. Prints AUPRC, and recall and false-positive rate at the score that flags 2% of the
// safe dev rows.
//   node dev.js OUT_DIR
const fs = require("fs");
const path = require("path");
const { load, train, logit, threshold, auprc, scoreVariants } = require("./common.js");

const [outDir] = process.argv.slice(2);
const data = load(outDir, "emb", "meta");
const network = train(data, data.meta.map((m, i) => i).filter((i) => data.meta[i].sample === "train"));
const dev = load(outDir, "dev-emb", "dev-meta");
const bow = new Map();
for (const line of fs.readFileSync(path.join(outDir, "scan_dev.jsonl"), "utf8").split("\n")) {
  if (!line) continue;
  const v = JSON.parse(line);
  bow.set(v.id, logit((v.scores && v.scores.unsafe) || 0));
}
const rows = dev.meta.map((m, i) => ({ m, y: dev.y[i], bow: bow.get(m.id), enc: network(dev.row(i)) }));
const safe = rows.filter((r) => !r.y);
const { scores, bandStart } = scoreVariants(safe);
console.log(`dev rows ${rows.length} (unsafe ${rows.length - safe.length}); encoded by top10: ` +
            `${(rows.filter((r) => r.bow >= bandStart).length / rows.length).toFixed(3)} of all, ` +
            `${(safe.filter((r) => r.bow >= bandStart).length / safe.length).toFixed(3)} of safe`);
console.log("score   auprc   recall  fpr");
for (const [name, score] of Object.entries(scores)) {
  const s = rows.map(score);
  const t = threshold(safe.map(score), 0.02);
  const unsafe = rows.filter((r) => r.y);
  const recall = unsafe.filter((r) => score(r) > t).length / unsafe.length;
  const fpr = safe.filter((r) => score(r) > t).length / safe.length;
  console.log(`${name.padEnd(8)}${auprc(s, rows.map((r) => r.y)).toFixed(4)}  ${recall.toFixed(3)}   ${fpr.toFixed(3)}`);
}
