import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';

// deploy/terraform/ (#12, item 9): Hetzner Cloud's provider cannot be downloaded on this project's
// machines, so `terraform validate` runs in the GitHub Actions workflow (its terraform job) and
// here `terraform fmt -check` (or OpenTofu's) holds the files to the canonical format, which also
// parses them. The rest is read from the files: the firewall lets in only 22/80/443, and the
// server boots the same cloud-init file with its settings filled in.

const root = path.resolve(import.meta.dirname, '../..');
const dir = path.join(root, 'deploy/terraform');
const main = readFileSync(path.join(dir, 'main.tf'), 'utf8');
const cloudInit = readFileSync(path.join(root, 'deploy/cloud-init.yaml'), 'utf8');

/** terraform, else OpenTofu's tofu: whichever runs. */
const tool = ['terraform', 'tofu'].find((bin) => spawnSync(bin, ['version'], { stdio: 'ignore' }).status === 0) ?? null;
const skip = tool ? false : 'neither terraform nor tofu is installed (nor buildable from the Go module proxy here); the workflow runs terraform fmt and validate';

describe('deploy/terraform', () => {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'lectern-terraform-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));
  const fmt = (folder: string) => spawnSync(tool!, ['fmt', '-check', '-recursive', folder], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', HOME: scratch, TF_CLI_CONFIG_FILE: '/dev/null' } });

  it('is in canonical format (`terraform fmt -check -recursive`), which a misformatted copy fails', { skip }, () => {
    const run = fmt(dir);
    assert.equal(run.status, 0, `${tool} fmt would change: ${run.stdout}${run.stderr}`);
    const copy = path.join(scratch, 'copy');
    cpSync(dir, copy, { recursive: true });
    writeFileSync(path.join(copy, 'main.tf'), main.replace('  name = var.name', '  name    =    var.name'));
    assert.notEqual(fmt(copy).status, 0);
  });

  it('lets in only SSH, HTTP and HTTPS', () => {
    const rules = [...main.matchAll(/rule \{[^}]*?protocol\s*=\s*"(\w+)"[^}]*?port\s*=\s*"(\d+)"[^}]*\}/g)].map((m) => `${m[2]}/${m[1]}`);
    assert.deepEqual(rules.sort(), ['22/tcp', '443/tcp', '443/udp', '80/tcp']);
    assert.ok(main.includes('firewall_ids = [hcloud_firewall.lectern.id]'));
  });

  it('boots the server with deploy/cloud-init.yaml, filling in settings that are really there', () => {
    assert.match(main, /file\("\$\{path\.module\}\/\.\.\/cloud-init\.yaml"\)/);
    assert.match(main, /user_data\s+= local\.user_data/);
    const pairs = [...main.matchAll(/^\s*"((?:[^"\\]|\\.)*)", "((?:[^"\\]|\\.)*)",\s*$/gm)].map((m) => [m[1]!, m[2]!] as const);
    assert.deepEqual(pairs.map(([from]) => from.split('=')[0]), ['LECTERN_DOMAIN', 'LECTERN_REPOSITORY', 'LECTERN_REF', 'LECTERN_VOLUME']);
    for (const [from] of pairs) {
      const literal = from.replaceAll('\\n', '\n');
      // Exactly once, or the replace would miss it (a renamed setting) or change something else.
      assert.equal(cloudInit.split(literal).length - 1, 1, `cloud-init.yaml holds ${JSON.stringify(literal)} once`);
    }
    assert.match(main, /"LECTERN_VOLUME=\$\{hcloud_volume\.data\.linux_device\}\\n"/);
  });

  it('keeps the data on a volume that outlives the server', () => {
    const volume = main.slice(main.indexOf('resource "hcloud_volume" "data" {')).split('\n}\n')[0]!;
    assert.match(volume, /^\s+delete_protection = true$/m);
    assert.match(main, /resource "hcloud_volume_attachment" "data"/);
  });
});
