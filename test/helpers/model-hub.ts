import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

// A stand-in for the model hub: serves model files in slices with a pause between them, so a
// download takes long enough for its progress to be seen, and writes the manifest that points at
// them (MODELS_MANIFEST). `wrongHash` models pin a sha256 their file does not have.

export interface ModelHub {
  url: string;
  manifestPath: string;
  /** The bytes served for `<model>/<file>`. */
  files: Map<string, Buffer>;
  close(): Promise<void>;
}

export interface HubModel {
  id: string;
  name: string;
  role: 'llm' | 'embeddings';
  bytes: number;
  wrongHash?: boolean;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export async function startModelHub(dir: string, models: HubModel[], slice = { bytes: 16_384, pauseMs: 40 }): Promise<ModelHub> {
  const files = new Map(models.map((m) => [`${m.id}/model.bin`, randomBytes(m.bytes)]));
  const server: Server = createServer((req, res) => {
    const body = files.get((req.url ?? '').replace(/^\/files\//, ''));
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': body.length });
    void (async () => {
      for (let at = 0; at < body.length && !res.destroyed; at += slice.bytes) {
        res.write(body.subarray(at, at + slice.bytes));
        await sleep(slice.pauseMs);
      }
      res.end();
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const manifest = {
    defaults: {},
    models: models.map((m) => {
      const body = files.get(`${m.id}/model.bin`)!;
      return {
        id: m.id,
        name: m.name,
        role: m.role,
        profiles: ['large'],
        files: [{ path: 'model.bin', url: `${url}/files/${m.id}/model.bin`, sha256: m.wrongHash ? sha256(Buffer.from('something else')) : sha256(body), size: body.length }],
      };
    }),
  };
  const manifestPath = path.join(dir, 'manifest.json');
  await writeFile(manifestPath, JSON.stringify(manifest, null, 2));
  return {
    url,
    manifestPath,
    files,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
