// Installs the Smart Turn v3 end-of-turn model (BSD-2-Clause) into MODELS_DIR/smart-turn-v3/. The
// model is published inside the `pipecat-ai` wheel on PyPI rather than as a file of its own, so pip
// downloads that wheel (pinned, without dependencies) and the one ONNX member is unpacked from it
// and checked against its sha256. Optional: without it semantic turn detection judges by words.
//
//   npm run models:turn -- [--dir MODELS_DIR]

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { TURN_MODEL_FILE, turnModelPath } from '../server/speech/smart-turn.ts';

const WHEEL = 'pipecat-ai==1.14.0';
const MEMBER = `pipecat/audio/turn/smart_turn/data/${TURN_MODEL_FILE}`;
const SHA256 = '2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f';

const run = promisify(execFile);

/** Puts the model at MODELS_DIR/smart-turn-v3/ unless a matching copy is there; returns its path. */
export async function fetchTurnModel(modelsDir: string, log: (line: string) => void = () => {}): Promise<string> {
  const target = turnModelPath(modelsDir);
  const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
  const existing = await readFile(target).catch(() => null);
  if (existing && sha(existing) === SHA256) {
    log(`${target} is in place`);
    return target;
  }
  const scratch = await mkdtemp(path.join(tmpdir(), 'lectern-turn-'));
  try {
    log(`pip download ${WHEEL} --no-deps`);
    await run('python3', ['-m', 'pip', 'download', WHEEL, '--no-deps', '--only-binary', ':all:', '--disable-pip-version-check', '-q', '-d', scratch], { timeout: 600_000 });
    const wheel = (await readdir(scratch)).find((f) => f.endsWith('.whl'));
    if (!wheel) throw new Error(`pip downloaded no wheel of ${WHEEL}`);
    // A wheel is a zip; Python's zipfile reads it without anything else installed.
    const { stdout } = await run('python3', ['-c', 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))', path.join(scratch, wheel), MEMBER], {
      encoding: 'buffer',
      maxBuffer: 64 * 2 ** 20,
    });
    if (sha(stdout) !== SHA256) throw new Error(`${MEMBER} in ${wheel} has sha256 ${sha(stdout)}, not the pinned ${SHA256}`);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(`${target}.part`, stdout);
    await rename(`${target}.part`, target);
    log(`${target}: ${(stdout.length / 2 ** 20).toFixed(1)} MB, sha256 ok`);
    return target;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { dir: { type: 'string' } } });
  const dir = path.resolve(values.dir ?? process.env['MODELS_DIR'] ?? 'models');
  try {
    await fetchTurnModel(dir, (line) => console.log(line));
  } catch (err) {
    console.error(`could not install the turn model: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
