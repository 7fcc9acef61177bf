// Tests leave nothing behind: every scratch folder that `tmpDir` hands out (synthesized
// templates, fake Lambda packages, copied manifests) is removed when the test process exits.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { INFRA_DIR } from '../lib/app';

test('scratch folders from tmpDir are gone once the test process exits', () => {
  // A child process stands in for a test file: it makes two scratch folders, writes into one,
  // prints their paths and exits normally.
  const script = [
    "const fs = require('node:fs');",
    "const { tmpDir } = require('./test/helpers');",
    "const a = tmpDir('cleanup-a'); const b = tmpDir('cleanup-b');",
    "fs.mkdirSync(require('node:path').join(a, 'nested'));",
    "fs.writeFileSync(require('node:path').join(a, 'nested', 'f.json'), '{}');",
    'process.stdout.write(JSON.stringify([a, b]));',
  ].join('\n');
  const r = spawnSync(process.execPath, ['--require', 'ts-node/register/transpile-only', '-e', script], {
    cwd: INFRA_DIR,
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const dirs: string[] = JSON.parse(r.stdout);
  assert.equal(dirs.length, 2);
  for (const d of dirs) {
    assert.ok(path.isAbsolute(d), d);
    assert.equal(fs.existsSync(d), false, `${d} was left behind`);
  }
});
