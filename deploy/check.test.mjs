// Tests of check.mjs: it passes the real s.yaml and SAM template, and
// catches each kind of breakage CI must stop. Each case edits a copy of the
// real file (the edit must change it, so a case cannot pass by editing
// nothing) and runs check.mjs as CI does, as its own process.
//
// Run: node --test (in deploy/), or `make check-deploy`.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const sYaml = fs.readFileSync(path.join(root, 's.yaml'), 'utf8');
const sam = fs.readFileSync(path.join(here, 'aws', 'template.yaml'), 'utf8');

function check(args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(here, 'check.mjs'), '--root', root, ...args], (err, stdout, stderr) => {
      resolve({ status: err ? err.code : 0, out: stdout + stderr });
    });
  });
}

// edited writes text with (the first) from replaced by to into a temp dir
// and returns its path.
function edited(text, from, to, name) {
  const out = text.replace(from, to);
  assert.notEqual(out, text, `the edit ${from} changed nothing: the case tests nothing`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'check-test-'));
  const file = path.join(dir, name);
  fs.writeFileSync(file, out);
  return file;
}

// Each case runs s preview in its own process; run a few at once.
describe('check.mjs', { concurrency: 4 }, () => {
  test('the real s.yaml and SAM template pass', async () => {
    const r = await check([]);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /6 resources rendered by s preview/);
  });

  const broken = [
    {
      name: 'a wrong runtime the schema knows (custom.debian10)',
      once: 'runtime: custom.debian12', to: 'runtime: custom.debian10',
      want: /ekyc-init: runtime must be custom\.debian12.*not "custom\.debian10"/,
    },
    {
      name: 'a runtime that does not exist (custom.debian13)',
      once: 'runtime: custom.debian12', to: 'runtime: custom.debian13',
      want: /ekyc-init: props\/runtime: "custom\.debian13" is not one of .*\(fc3 schema\)/,
    },
    {
      name: 'a misspelt props key (timeOut)',
      once: '      timeout: 10\n', to: '      timeOut: 10\n',
      want: /ekyc-init: props\/: unknown key "timeOut"/,
    },
    {
      name: 'a misspelt key inside customRuntimeConfig (prot)',
      once: '        port: 9000\n', to: '        prot: 9000\n',
      want: /ekyc-init: props\/customRuntimeConfig: unknown key "prot"/,
    },
    {
      name: 'a timer without cronExpression',
      once: '            cronExpression: "@every 5m"\n', to: '',
      want: /callback: props\/triggers\/1\/triggerConfig: missing required "cronExpression"/,
    },
    {
      name: 'a misspelt trigger config key (cronExpresion)',
      once: 'cronExpression: "@every 5m"', to: 'cronExpresion: "@every 5m"',
      want: /unknown key "cronExpresion"/,
    },
    {
      name: 'an http trigger without methods',
      once: '            methods:\n              - GET\n', to: '',
      want: /callback: props\/triggers\/0\/triggerConfig: missing required "methods"/,
    },
    {
      name: 'a handler command that is not the packaged bootstrap',
      once: '          - /code/bootstrap\n', to: '          - /code/main\n',
      want: /ekyc-init: customRuntimeConfig\.command must be \["\/code\/bootstrap"\]/,
    },
    {
      name: 'a function directory without a resource',
      from: /\n  bank-verify:\n[\s\S]*?\n\n(?=  zhima-init:)/, to: '\n',
      want: /functions\/bank-verify has no resource in s\.yaml/,
    },
    {
      name: 'an env reference s cannot compile',
      once: "${env('API_KEY_HASHES', '')}", to: "${env(API_KEY_HASHES, '')}",
      want: /s preview could not render s\.yaml: .*CompileError/,
    },
    {
      name: 'a secret written into the file',
      once: "CALLBACK_SECRET: ${env('CALLBACK_SECRET', '')}", to: 'CALLBACK_SECRET: "not-so-secret-0123456789abcdef0123"',
      want: /ekyc-init: CALLBACK_SECRET must come from \$\{env\('CALLBACK_SECRET'\)\}/,
    },
    {
      name: 'a timeout that FUNCTION_TIMEOUT_S does not follow',
      once: '      timeout: 10\n', to: '      timeout: 30\n',
      want: /ekyc-init: environmentVariables\.FUNCTION_TIMEOUT_S \("10"\) must equal timeout \(30\)/,
    },
  ];

  for (const c of broken) {
    test(`s.yaml with ${c.name} fails`, async () => {
      const file = edited(sYaml, c.once ?? c.from, c.to, 's.yaml');
      const r = await check(['--file', file]);
      assert.equal(r.status, 1, `check passed a broken file:\n${r.out}`);
      assert.match(r.out, c.want);
    });
  }

  test('a SAM template without one of the functions fails', async () => {
    const file = edited(sam, /\n  BankVerify:\n[\s\S]*?\n\n(?=  ZhimaInit:)/, '\n', 'template.yaml');
    const r = await check(['--sam', file]);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /functions\/bank-verify has no AWS::Serverless::Function/);
  });

  test('a SAM template on the wrong runtime, or missing a variable s.yaml sets, fails', async () => {
    let file = edited(sam, 'Runtime: provided.al2023', 'Runtime: go1.x', 'template.yaml');
    let r = await check(['--sam', file]);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /Runtime must be provided\.al2023, not "go1\.x"/);

    file = edited(sam, '          BANK_VERIFY_PARAM_TYPE: md5\n', '', 'template.yaml');
    r = await check(['--sam', file]);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /BankVerify: s\.yaml sets BANK_VERIFY_PARAM_TYPE for bank-verify but the template does not/);
  });
});
