// llama.cpp measured like llama-bench (pp N = one batch of N tokens, tg N = N
// single-token decodes), through the prebuilt CPU libraries of the npm package
// node-llama-cpp, for machines where no llama-bench can be built:
//   (cd DIR && npm install node-llama-cpp@3.22.1)      (DIR: any folder outside this repository)
//   NODE_LLAMA_CPP_DIR=DIR node bench/llamacpp-node.mjs FILE.gguf THREADS 128 64 3
// Prints one JSON line: pp_ts/tg_ts are mean tokens/s over the repetitions
// (one warm-up run first). tg includes node-llama-cpp's greedy sampling of
// each token, which llama-bench does not do.
import path from "node:path";
import {pathToFileURL} from "node:url";
const dir = process.env.NODE_LLAMA_CPP_DIR ?? process.cwd();
const {getLlama} = await import(pathToFileURL(path.join(dir, "node_modules/node-llama-cpp/dist/index.js")).href);
const [file, threads, P, N, R] = [process.argv[2], +process.argv[3], +process.argv[4], +process.argv[5], +(process.argv[6] ?? 3)];
const llama = await getLlama({gpu: false, build: "never"});
const model = await llama.loadModel({modelPath: file, gpuLayers: 0});
const ctx = await model.createContext({contextSize: Math.max(P, N) + 8, batchSize: P, threads, flashAttention: false});
const seq = ctx.getSequence();
const toks = Array.from({length: P}, (_, i) => (1 + ((i * 7919 + 17) % 5000)));
const stats = a => { const m = a.reduce((x, y) => x + y) / a.length; const s = Math.sqrt(a.reduce((x, y) => x + (y - m) ** 2, 0) / Math.max(1, a.length - 1)); return [m, s]; };
const pp = [], tg = [];
for (let r = -1; r < R; r++) {
  await seq.clearHistory();
  let t0 = performance.now();
  await seq.evaluateWithoutGeneratingNewTokens(toks);
  let t = performance.now() - t0;
  if (r >= 0) pp.push(P / t * 1000);
  await seq.clearHistory();
  let n = 0;
  t0 = performance.now();
  for await (const tok of seq.evaluate([toks[0]], {temperature: 0})) { if (++n >= N) break; }
  t = performance.now() - t0;
  if (r >= 0) tg.push(N / t * 1000);
}
const [pm, ps] = stats(pp), [tm, ts] = stats(tg);
console.log(JSON.stringify({file, threads, pp: P, pp_ts: +pm.toFixed(2), pp_sd: +ps.toFixed(2), tg: N, tg_ts: +tm.toFixed(2), tg_sd: +ts.toFixed(2)}));
process.exit(0);
