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
const { load, train, logit, threshold, recall, scoreVariants } = require("./common.js");

const [outDir, ...heldOut] = process.argv.slice(2);
const data = load(outDir, "emb", "meta");
const { meta, row } = data;

console.log("source              positives  bow    enc    sum    top10");
for (const source of heldOut) {
  const bow = new Map();
  for (const line of fs.readFileSync(path.join(outDir, `scan_${source}.jsonl`), "utf8").split("\n")) {
    if (!line) continue;
    const v = JSON.parse(line);
    bow.set(v.id, logit((v.scores && v.scores.unsafe) || 0));
  }
  const trainRows = meta.map((m, i) => i).filter((i) => meta[i].sample === "train" && meta[i].source !== source);
  const network = train(data, trainRows);
  const rows = meta.map((m, i) => i).filter((i) => meta[i].sample === "eval" && bow.has(meta[i].id))
                   .map((i) => ({ m: meta[i], bow: bow.get(meta[i].id), enc: network(row(i)) }));
  const safe = rows.filter((r) => r.m.split === "dev" && r.m.source !== source && r.m.label === "safe");
  const positives = rows.filter((r) => r.m.source === source && r.m.label === "unsafe");
  const { scores } = scoreVariants(safe);
  const cells = Object.values(scores).map((s) => recall(positives, s, threshold(safe.map(s), 0.02)));
  console.log(`${source.padEnd(20)}${String(positives.length).padEnd(11)}${cells.join("  ")}`);
}
