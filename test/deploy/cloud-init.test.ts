import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';

// deploy/cloud-init.yaml (#12, item 9, "Hetzner in minutes") cannot boot a server here, so it is
// held to what can be checked: Debian's cloud-init validates it against its own schema, bash parses
// the install script it writes, and the tests below that the script does what the README promises
// (Docker, only 22/80/443, secrets made on the box, LECTERN_DOMAIN at the top, the stack started).

const root = path.resolve(import.meta.dirname, '../..');
const file = path.join(root, 'deploy/cloud-init.yaml');
const text = readFileSync(file, 'utf8');
const config = parse(text) as { write_files: Array<{ path: string; content: string; permissions?: string }>; runcmd: unknown[] };
const script = config.write_files.find((f) => f.path === '/usr/local/sbin/lectern-install')!.content;
const settings = config.write_files.find((f) => f.path === '/etc/lectern/install.env')!;

const hasCloudInit = spawnSync('cloud-init', ['--version'], { stdio: 'ignore' }).status === 0;
if (!hasCloudInit && process.env['CI'] === 'true') throw new Error("cloud-init not found, and CI=true: .ci/run installs Debian's cloud-init package");
const skip = hasCloudInit ? false : "cloud-init is not installed (apt-get install cloud-init, Debian's package); required in CI";

const schema = (configFile: string) => spawnSync('cloud-init', ['schema', '--config-file', configFile], { encoding: 'utf8' });

describe('deploy/cloud-init.yaml', () => {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'lectern-cloud-init-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('passes `cloud-init schema`, which refuses a broken copy', { skip }, () => {
    const run = schema(file);
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /Valid cloud-config/);
    const broken = path.join(scratch, 'broken.yaml');
    writeFileSync(broken, text.replace('package_update: true', 'package_update: "sometimes"'));
    const refused = schema(broken);
    assert.notEqual(refused.status, 0, 'the schema check would catch a mistake');
  });

  it('starts with the settings the operator edits, LECTERN_DOMAIN first, and holds no secret', () => {
    assert.ok(text.startsWith('#cloud-config\n'));
    assert.equal(config.write_files[0], settings, 'the settings are the first file');
    assert.match(settings.content, /^LECTERN_DOMAIN=lectern\.example\.org$/m);
    assert.equal(settings.content.split('\n')[0], 'LECTERN_DOMAIN=lectern.example.org');
    assert.equal(settings.permissions, '0600');
    // No key, token or password in the file: long hex or base64 runs would be one.
    assert.doesNotMatch(text, /[0-9a-f]{24,}|[A-Za-z0-9+/]{40,}/);
    assert.deepEqual(config.runcmd, [['sh', '-c', '/usr/local/sbin/lectern-install >> /var/log/lectern-install.log 2>&1']]);
  });

  it('writes an install script that parses, installs Docker with compose, opens only 22/80/443 and starts the stack', () => {
    const scriptFile = path.join(scratch, 'install.sh');
    writeFileSync(scriptFile, script);
    const syntax = spawnSync('bash', ['-n', scriptFile], { encoding: 'utf8' });
    assert.equal(syntax.status, 0, syntax.stderr);
    assert.match(script, /apt-get install [^\n]*docker\.io "\$\{compose\}"/);
    assert.match(script, /docker compose version/);
    const allowed = [...script.matchAll(/^\s*ufw allow (\S+)$/gm)].map((m) => m[1]).sort();
    assert.deepEqual(allowed, ['22/tcp', '443/tcp', '443/udp', '80/tcp']);
    assert.match(script, /ufw default deny incoming/);
    assert.match(script, /ufw --force enable/);
    assert.match(script, /docker compose up -d --build/);
    assert.match(script, /printf 'LECTERN_DOMAIN=%s\\nLECTERN_TLS=%s\\n' "\$\{LECTERN_DOMAIN\}"/);
  });

  it('makes on the box every secret compose.yaml reads', () => {
    const compose = parse(readFileSync(path.join(root, 'compose.yaml'), 'utf8')) as { secrets: Record<string, { file: string }> };
    const names = Object.values(compose.secrets).map((s) => s.file.replace('./secrets/', ''));
    assert.ok(names.length >= 6);
    // Those derived from another (a URL carrying a password) are made explicitly, the rest by the
    // loop over compose.yaml's secrets, which must see every one of them.
    const loop = /sed -n '(s\|.*\|p)' compose\.yaml/.exec(script)?.[1];
    assert.ok(loop, 'the loop over compose.yaml secrets');
    const seen = spawnSync('sed', ['-n', loop], { input: readFileSync(path.join(root, 'compose.yaml'), 'utf8'), encoding: 'utf8' }).stdout.trim().split('\n');
    assert.deepEqual(seen.sort(), [...names].sort());
    for (const derived of ['redis_url', 'mongodb_url']) assert.match(script, new RegExp(`> secrets/${derived}`));
    assert.match(script, /openssl rand -hex/);
  });
});
