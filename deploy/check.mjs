#!/usr/bin/env node
// Offline check of the deployment files, so that CI catches a broken s.yaml
// or SAM template before anyone runs `s deploy` or `sam deploy`.
//
//  1. Serverless Devs itself renders s.yaml (`s preview -o json`): this is
//     the parser and template engine `s deploy` uses, so a file it cannot
//     render fails here. It needs no credentials and no network (checked
//     with the network unplugged); it runs with an empty HOME and a clean
//     environment, every ${env('NAME')} without a default set to a
//     placeholder, so the result does not depend on who runs it.
//  2. Each resource's props are validated against the fc3 component's JSON
//     Schema (deploy/fc3-props.schema.json, the fc3 component's props schema) with ajv.
//  3. That schema accepts any unknown key and any trigger config for any
//     trigger type, so the same schema is validated again made strict:
//     every object closed to the keys the schema names, and triggerConfig
//     checked against the one definition its triggerType selects (a timer
//     needs cronExpression and enable, an http trigger authType and
//     methods, ...).
//  4. The project's own rules (projectRules below), and the AWS SAM
//     template's (samRules).
//
// Usage: node check.mjs [--file s.yaml] [--root <repo>] [--schema <json>]
//                       [--sam deploy/aws/template.yaml | --sam none]
// Paths default to the repository this file is in. Exit status 0 when every
// check passes, 1 with one line per problem otherwise.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';
import YAML from 'yaml';

const here = path.dirname(fileURLToPath(import.meta.url));

function parseArgs(argv) {
  const root = path.resolve(here, '..');
  const a = {
    file: path.join(root, 's.yaml'),
    root,
    schema: process.env.FC3_SCHEMA || path.join(root, 'deploy', 'fc3-props.schema.json'),
    sam: path.join(root, 'deploy', 'aws', 'template.yaml'),
  };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in a) || argv[i + 1] === undefined) {
      throw new Error(`unknown or incomplete option ${argv[i]}; see the usage at the top of check.mjs`);
    }
    a[key] = path.resolve(argv[i + 1]);
    if (key === 'sam' && argv[i + 1] === 'none') a.sam = null;
  }
  return a;
}

// The runtime, port and command every function deploys with.
const RUNTIME = 'custom.debian12';
const PORT = 9000;
const COMMAND = ['/code/bootstrap'];
const FC_ENV_LIMIT = 4096; // bytes, all variables of one function together

// Each trigger type's config definition in the fc3 schema.
const TRIGGER_DEFS = {
  http: 'IHttpTriggerConfig',
  timer: 'ITimerTriggerConfig',
  eventbridge: 'IEventBridge',
  oss: 'IOssTriggerConfig',
  log: 'ILogTriggerConfig',
  mns_topic: 'IMnsTriggerConfig',
  cdn_events: 'ICdnTriggerConfig',
  tablestore: 'IOtsConfig',
};

// ---- 1. render -------------------------------------------------------------

// requiredEnv lists the names referenced without a default.
export function requiredEnv(text) {
  const names = new Set();
  for (const m of text.matchAll(/\$\{\s*env\(\s*'?([A-Za-z_][A-Za-z0-9_]*)'?\s*\)\s*\}/g)) names.add(m[1]);
  return [...names];
}

function render(file) {
  const text = fs.readFileSync(file, 'utf8');
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 's-home-'));
  const env = { PATH: process.env.PATH, HOME: home, NO_UPDATE_NOTIFIER: '1' };
  for (const name of requiredEnv(text)) env[name] = `placeholder-${name}`;
  try {
    const s = path.join(here, 'node_modules', '.bin', 's');
    if (!fs.existsSync(s)) {
      throw new Error(`${s} is missing: run \`npm ci\` in deploy/ (or \`make check-deploy\`)`);
    }
    const r = spawnSync(s, ['preview', '-o', 'json', '-t', path.basename(file)], {
      cwd: path.dirname(file), env, encoding: 'utf8', timeout: 120_000,
    });
    const out = r.stdout || '';
    const start = out.indexOf('\n{');
    if (r.status !== 0 || start < 0 && !out.startsWith('{')) {
      const msg = out.replace(/^\[.*\]\[WARN\].*\n/m, '').split('\n').map((l) => l.trim())
        .filter((l) => l && !/^(A complete log|Env:|Logs:|Feedback:)/.test(l)).slice(0, 8).join(' | ');
      return { problems: [`s preview could not render ${path.basename(file)}: ${msg || r.stderr || r.error}`] };
    }
    return { rendered: JSON.parse(out.startsWith('{') ? out : out.slice(start + 1)), text };
  } finally {
    // s may leave a child writing its logs under HOME for a moment after it
    // exits: retry, and never fail the check over a leftover temporary dir.
    try {
      fs.rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    } catch (e) {
      console.error(`check.mjs: could not remove ${home}: ${e.code || e.message}`);
    }
  }
}

// ---- 2 and 3. schema ---------------------------------------------------------

// strictSchema closes every object the schema describes to the keys it
// names, and selects each trigger's config definition by its triggerType.
export function strictSchema(schema) {
  const s = structuredClone(schema);
  const close = (node) => {
    if (Array.isArray(node)) return node.forEach(close);
    if (!node || typeof node !== 'object') return;
    if (node.properties && node.additionalProperties === undefined && Object.keys(node.properties).length > 0) {
      node.additionalProperties = false;
    }
    // An if's properties test one key; closing them would make it never match.
    Object.entries(node).filter(([k]) => k !== 'if').forEach(([, v]) => close(v));
  };
  close(s);
  const trigger = s.definitions.ITrigger;
  trigger.properties.triggerConfig = { type: 'object' };
  trigger.allOf = Object.entries(TRIGGER_DEFS).map(([type, def]) => ({
    if: { properties: { triggerType: { const: type } }, required: ['triggerType'] },
    then: { properties: { triggerConfig: { $ref: `#/definitions/${def}` } } },
  }));
  return s;
}

function describe(err) {
  const where = err.instancePath || '/';
  switch (err.keyword) {
    case 'additionalProperties':
      return `${where}: unknown key "${err.params.additionalProperty}" (misspelt, or not an fc3 property here)`;
    case 'required':
      return `${where}: missing required "${err.params.missingProperty}"`;
    case 'enum':
      return `${where}: ${JSON.stringify(err.data)} is not one of ${err.params.allowedValues.join(', ')}`;
    default:
      return `${where}: ${err.message}`;
  }
}

function schemaProblems(resources, schema) {
  const problems = [];
  const ajv = new Ajv({ strict: false, allErrors: true, verbose: true });
  const validators = [['fc3 schema', ajv.compile(schema)], ['strict fc3 schema', ajv.compile(strictSchema(schema))]];
  for (const [name, res] of Object.entries(resources)) {
    const seen = new Set();
    for (const [label, validate] of validators) {
      if (validate(res.props ?? {})) continue;
      for (const err of validate.errors) {
        // if/then and anyOf add a summary line to the real error; skip it.
        if (err.keyword === 'if' || err.keyword === 'anyOf') continue;
        const line = describe(err);
        if (seen.has(line)) continue;
        seen.add(line);
        problems.push(`${name}: props${line} (${label})`);
      }
    }
  }
  return problems;
}

// ---- 4. project rules ----------------------------------------------------------

export function functionDirs(root) {
  const dir = path.join(root, 'functions');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(dir, d.name, 'main.go')))
    .map((d) => d.name).sort();
}

// strings yields every string value of a parsed YAML document (comments
// are not values, so they may mention anything).
function* strings(v) {
  if (typeof v === 'string') yield v;
  else if (v && typeof v === 'object') for (const x of Object.values(v)) yield* strings(x);
}

const isSecretName = (k) => /SECRET|PRIVATE_KEY|PASSWORD|HASHES|TOKEN/.test(k) && !/_TTL$/.test(k);
const fromEnv = (v) => typeof v === 'string' && /^\$\{\s*(env\(|vars\.)/.test(v.trim());

function cronOK(expr) {
  if (/^@every\s+\d+[smh](\d+[smh])*$/.test(expr)) return true;
  return expr.trim().split(/\s+/).length === 6; // seconds minutes hours day month weekday
}

function projectRules(doc, raw, text, root) {
  const p = [];
  for (const k of Object.keys(doc)) {
    if (!['edition', 'name', 'access', 'vars', 'resources', 'actions'].includes(k)) p.push(`unknown top-level key "${k}"`);
  }
  if (doc.edition !== '3.0.0') p.push(`edition must be 3.0.0 (Serverless Devs 3), not ${JSON.stringify(doc.edition)}`);
  // s 3.1.10 miscompiles ${env(NAME, '')}; the quoted form always works.
  for (const v of strings(raw)) {
    for (const m of v.matchAll(/\$\{\s*env\(\s*([A-Za-z_]\w*)\s*[,)]/g)) {
      p.push(`write \${env('${m[1]}' ...)} with the name in quotes: s miscompiles an unquoted name with an empty default`);
    }
  }
  const resources = doc.resources ?? {};
  for (const [name, res] of Object.entries(resources)) {
    const at = (msg) => p.push(`${name}: ${msg}`);
    for (const k of Object.keys(res)) if (!['component', 'props', 'actions'].includes(k)) at(`unknown key "${k}"`);
    if (res.component !== 'fc3') at(`component must be fc3, not ${JSON.stringify(res.component)}`);
    const props = res.props ?? {};
    if (props.functionName !== name) at(`functionName ${JSON.stringify(props.functionName)} must equal the resource name`);
    if (props.runtime !== RUNTIME) at(`runtime must be ${RUNTIME} (the Go binary is a custom-runtime HTTP server), not ${JSON.stringify(props.runtime)}`);
    if (props.code !== `./dist/${name}/amd64`) at(`code must be ./dist/${name}/amd64 (what \`make package\` builds), not ${JSON.stringify(props.code)}`);
    const crc = props.customRuntimeConfig ?? {};
    if (JSON.stringify(crc.command) !== JSON.stringify(COMMAND)) at(`customRuntimeConfig.command must be ${JSON.stringify(COMMAND)}, the packaged binary`);
    if (crc.port !== PORT) at(`customRuntimeConfig.port must be ${PORT}, where the function listens`);
    if (props.handler !== undefined) at('handler means nothing to a custom runtime; leave it out');
    const env = props.environmentVariables ?? {};
    if (env.FUNCTION_TIMEOUT_S !== String(props.timeout)) {
      at(`environmentVariables.FUNCTION_TIMEOUT_S (${JSON.stringify(env.FUNCTION_TIMEOUT_S)}) must equal timeout (${props.timeout}): it sets the invocation's deadline`);
    }
    let size = 0;
    for (const [k, v] of Object.entries(env)) {
      if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(k)) at(`environment variable name "${k}" is not letters, digits and _`);
      if (k.startsWith('FC_')) at(`environment variable "${k}": the FC_ prefix is reserved by FC`);
      if (typeof v !== 'string') at(`environment variable "${k}" must be a string (quote it)`);
      size += k.length + String(v).length;
    }
    if (size > FC_ENV_LIMIT) at(`environment variables take ${size} bytes, over FC's ${FC_ENV_LIMIT}`);
    // Secrets are never written in the file: they come from ${env(...)}.
    const rawEnv = raw?.resources?.[name]?.props?.environmentVariables ?? {};
    for (const [k, v] of Object.entries(rawEnv)) {
      if (isSecretName(k) && !fromEnv(v)) at(`${k} must come from \${env('${k}')} or vars, never be written in s.yaml`);
    }
    const triggers = props.triggers ?? [];
    if (triggers.filter((t) => t.triggerType === 'http').length > 1) at('FC allows one http trigger per function');
    const names = new Set();
    for (const t of triggers) {
      const c = t.triggerConfig ?? {};
      if (names.has(t.triggerName)) at(`two triggers are named ${t.triggerName}`);
      names.add(t.triggerName);
      if (t.triggerType === 'timer' && typeof c.cronExpression === 'string' && !cronOK(c.cronExpression)) {
        at(`trigger ${t.triggerName}: cronExpression ${JSON.stringify(c.cronExpression)} is neither "@every <n>m" nor a six-field cron`);
      }
      if (t.triggerType === 'eventbridge' && typeof c.eventRuleFilterPattern === 'string') {
        try { JSON.parse(c.eventRuleFilterPattern); } catch { at(`trigger ${t.triggerName}: eventRuleFilterPattern is not JSON`); }
      }
      // A function that front-ends reach anonymously checks callers itself.
      if (t.triggerType === 'http' && c.authType === 'anonymous' && env.AUTH_MODE === 'none') {
        at(`trigger ${t.triggerName} is anonymous and AUTH_MODE is none: nothing checks the caller`);
      }
    }
  }
  for (const fn of functionDirs(root)) {
    if (!resources[fn]) p.push(`functions/${fn} has no resource in s.yaml`);
  }
  return p;
}

// ---- the AWS SAM template --------------------------------------------------------

function samRules(file, sDoc, root) {
  const p = [];
  const at = (msg) => p.push(`${path.basename(file)}: ${msg}`);
  // CloudFormation tags (!Ref, !Sub, ...) are kept as plain values.
  const doc = YAML.parseDocument(fs.readFileSync(file, 'utf8'), { logLevel: 'silent' });
  if (doc.errors.length) return [`${path.basename(file)}: ${doc.errors[0].message}`];
  const t = doc.toJS() ?? {};
  if (t.Transform !== 'AWS::Serverless-2016-10-31') at('Transform must be AWS::Serverless-2016-10-31');
  const g = t.Globals?.Function ?? {};
  const fns = Object.entries(t.Resources ?? {}).filter(([, r]) => r.Type === 'AWS::Serverless::Function');
  const byName = new Map();
  for (const [logical, r] of fns) {
    const props = { ...g, ...r.Properties, Environment: { Variables: { ...g.Environment?.Variables, ...r.Properties?.Environment?.Variables } } };
    const fn = String(props.CodeUri ?? '').match(/dist\/([^/]+)\/(amd64|arm64)\/?$/);
    if (!fn) { at(`${logical}: CodeUri must be ../../dist/<function>/<arch>, what \`make package\` builds`); continue; }
    byName.set(fn[1], logical);
    if (props.Runtime !== 'provided.al2023') at(`${logical}: Runtime must be provided.al2023, not ${JSON.stringify(props.Runtime)}`);
    if (props.Handler !== 'bootstrap') at(`${logical}: Handler must be bootstrap`);
    const arch = (props.Architectures ?? ['x86_64'])[0] === 'arm64' ? 'arm64' : 'amd64';
    if (fn[2] !== arch) at(`${logical}: CodeUri is the ${fn[2]} build but Architectures says ${arch}`);
    // The same configuration names on both clouds.
    const want = Object.keys(sDoc.resources?.[fn[1]]?.props?.environmentVariables ?? {});
    const have = Object.keys(props.Environment.Variables);
    for (const k of want) if (!have.includes(k)) at(`${logical}: s.yaml sets ${k} for ${fn[1]} but the template does not`);
  }
  for (const fn of functionDirs(root)) if (!byName.has(fn)) at(`functions/${fn} has no AWS::Serverless::Function`);
  return p;
}

// ---- main ------------------------------------------------------------------------

function main() {
  const args = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(args.schema)) {
    console.error(`fc3 schema not found at ${args.schema}: set --schema or FC3_SCHEMA`);
    process.exit(1);
  }
  const schema = JSON.parse(fs.readFileSync(args.schema, 'utf8'));
  const { rendered, text, problems = [] } = render(args.file);
  if (rendered) {
    const raw = YAML.parse(text, { logLevel: 'silent' });
    problems.push(...schemaProblems(rendered.resources ?? {}, schema));
    problems.push(...projectRules(rendered, raw, text, args.root));
    if (args.sam) problems.push(...samRules(args.sam, rendered, args.root));
  }
  const name = path.relative(process.cwd(), args.file) || args.file;
  if (problems.length) {
    console.error(`${name}: ${problems.length} problem(s)`);
    for (const line of problems) console.error(`  ${line}`);
    process.exit(1);
  }
  const n = Object.keys(rendered.resources ?? {}).length;
  console.log(`${name}: ${n} resources rendered by s preview, valid against the fc3 schema (strict) and the project's rules` +
    (args.sam ? `; ${path.relative(process.cwd(), args.sam)} matches` : ''));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  try {
    main();
  } catch (e) {
    console.error(`check.mjs: ${e.message}`);
    process.exit(1);
  }
}
