// Runtime configuration checks before a package is built or a release is published (SPEC §5 packaging,
// §6 `config`). The application is Laravel, so `.env` text is read the way its dotenv loader reads it,
// and anything that loader would read differently from what a reviewer sees (duplicates, stray quotes,
// unquoted whitespace) is itself a violation.
//
// Secrets never appear as values. A key whose name ends in one of SECRET_KEY_SUFFIXES must be empty
// (filled in at install by `install-secrets`) or a reference in one of these forms:
//   secretsmanager:<secret name or ARN>   read from AWS Secrets Manager (the only form SaaS accepts)
//   ref:<name>                            a secret held by the control plane, delivered encrypted
//   ${ref:<name>}                         the same, in interpolation form
// Violation messages never repeat a secret's value.
import type { DeploymentMode } from './policies.js';

export type ConfigViolationCode =
  | 'APP_DEBUG_NOT_FALSE'
  | 'APP_ENV_NOT_PRODUCTION'
  | 'REQUIRED_KEY_MISSING'
  | 'SECRET_LITERAL'
  | 'SECRET_SOURCE_NOT_ALLOWED'
  | 'DUPLICATE_KEY'
  | 'INVALID_KEY_NAME'
  | 'SYNTAX_ERROR';

export interface ConfigViolation {
  key: string;
  code: ConfigViolationCode;
  message: string;
  /** 1-based line of the `.env` text, when the input was text. */
  line?: number;
}

export interface ConfigValidationResult {
  valid: boolean;
  /** At most MAX_REPORTED_VIOLATIONS, in order. */
  violations: ConfigViolation[];
  /** How many further violations were found but not listed (absent when none). */
  omitted?: number;
}

/** A response lists this many violations at most: 256 KiB of bad lines would otherwise answer megabytes. */
export const MAX_REPORTED_VIOLATIONS = 200;
/** Characters (or entries) of work between two points where a cooperative caller may yield. */
const SLICE = 8192;

const LARAVEL_CORE = [
  'APP_ENV', 'APP_DEBUG', 'APP_KEY', 'APP_URL',
  'DB_CONNECTION', 'DB_HOST', 'DB_DATABASE', 'DB_USERNAME', 'DB_PASSWORD',
  'REDIS_HOST', 'REDIS_PASSWORD',
  'QUEUE_CONNECTION',
  'AWS_BUCKET',
] as const;
/** The license heartbeat client and the update client of customer-run installations. */
const CUSTOMER_RUN_CLIENTS = ['LICENSE_ID', 'LICENSE_TOKEN', 'DEPLOYMENT_SERVER_URL'] as const;

/**
 * Keys each mode's runtime configuration must set (non-empty). `APP_URL` is the custom domain for
 * white-label; `AWS_BUCKET` is the S3-compatible (for enterprise: private) storage bucket.
 */
export const REQUIRED_CONFIG_KEYS: Readonly<Record<DeploymentMode, readonly string[]>> = {
  saas: [...LARAVEL_CORE],
  'self-hosted': [...LARAVEL_CORE, ...CUSTOMER_RUN_CLIENTS],
  'white-label': [...LARAVEL_CORE, ...CUSTOMER_RUN_CLIENTS, 'BRANDING_REF', 'BILLING_ACCOUNT_ID'],
  'enterprise-private-cloud': [
    ...LARAVEL_CORE, ...CUSTOMER_RUN_CLIENTS, 'SSO_ISSUER_URL', 'SSO_CLIENT_ID', 'SSO_CLIENT_SECRET',
  ],
};

export const SECRET_KEY_SUFFIXES = ['_KEY', '_SECRET', '_PASSWORD', '_TOKEN', '_PASSPHRASE', '_CREDENTIALS'] as const;

const KEY_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SECRETS_MANAGER_REF = /^secretsmanager:[A-Za-z0-9/_+=.@:-]{1,2048}$/;
const CONTROL_PLANE_REF = /^(?:ref:[A-Za-z0-9/_+=.@-]{1,512}|\$\{ref:[A-Za-z0-9/_+=.@-]{1,512}\})$/;
/** `scheme://user:password@host`: credentials embedded in a URL, whatever the key is called. */
const URL_CREDENTIALS = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/@\s:]*:([^/@\s]+)@/;

export function isSecretKey(key: string): boolean {
  const upper = key.toUpperCase();
  return SECRET_KEY_SUFFIXES.some((suffix) => upper.endsWith(suffix));
}

/** Whether `value` is one of the documented secret reference forms. */
export function isSecretReference(value: string): boolean {
  return SECRETS_MANAGER_REF.test(value) || CONTROL_PLANE_REF.test(value);
}

// ---------------------------------------------------------------------------------------------------------
// .env parsing

export interface DotEnvEntry {
  key: string;
  value: string;
  line: number;
}

export interface DotEnvError {
  line: number;
  key?: string;
  message: string;
}

const DOUBLE_QUOTE_ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\', $: '$' };

/**
 * Parse `.env` text: `KEY=value` lines, optional `export ` prefix, blank lines, `#` comments (whole-line, or
 * after whitespace following an unquoted or closing-quoted value), single quotes (literal) and double quotes
 * (escapes \n \r \t \" \\ \$), both of which may span lines. Unquoted values may not contain whitespace.
 * Every occurrence of a key is returned, in order; duplicates are the caller's to judge.
 */
export function parseDotEnv(text: string): { entries: DotEnvEntry[]; errors: DotEnvError[] } {
  const { entries, errors } = drain(parseDotEnvSteps(text));
  return { entries, errors };
}

/**
 * parseDotEnv as steps: it yields after about SLICE characters of work, so a caller on a shared event loop
 * can let other work run in between (validateConfigCooperatively). One pass over the text in all.
 */
function* parseDotEnvSteps(text: string, maxErrors = Infinity): Generator<void, { entries: DotEnvEntry[]; errors: DotEnvError[]; errorCount: number }> {
  let work = 0;
  let errorCount = 0;
  const lines = new LineReader(text.replace(/^\uFEFF/, ''));
  const entries: DotEnvEntry[] = [];
  const errors: DotEnvError[] = [];
  // Beyond maxErrors only the count is kept: a response lists a few hundred, and 256 KiB of bad lines
  // would otherwise allocate an object per line.
  const pushError = (e: DotEnvError) => {
    errorCount++;
    if (errors.length < maxErrors) errors.push(e);
  };
  for (let i = 0; ; i++) {
    const lineNo = i + 1;
    const raw = lines.get(i);
    if (raw === undefined) break;
    work += raw.length + 1;
    if (work > SLICE) {
      work = 0;
      yield;
    }
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const assignment = /^\s*(?:export[ \t]+)?([^=\s]+)[ \t]*=[ \t]*(.*)$/.exec(raw);
    if (!assignment) {
      pushError({ line: lineNo, message: 'Expected KEY=value' });
      continue;
    }
    const key = assignment[1]!;
    const rest = assignment[2]!;
    if (!KEY_NAME.test(key)) {
      pushError({ line: lineNo, key, message: 'Key names use letters, digits and "_" and do not start with a digit' });
      continue;
    }
    const quote = rest[0];
    if (quote === '"' || quote === "'") {
      // Find the closing quote, continuing onto following lines if needed. The scan resumes where it
      // stopped, so a value that never closes costs one pass over the text, not one per line.
      let j = i;
      let segment = rest.slice(1);
      const parts: string[] = [];
      let close = -1;
      let escaped = false;
      for (;;) {
        for (let k = 0; k < segment.length; k++) {
          const c = segment.charCodeAt(k);
          if (escaped) escaped = false;
          else if (quote === '"' && c === 0x5c) escaped = true;
          else if (c === quote.charCodeAt(0)) {
            close = k;
            break;
          }
        }
        const next = close >= 0 ? undefined : lines.get(j + 1);
        if (next === undefined) break;
        parts.push(segment);
        j++;
        segment = next;
        work += segment.length + 1;
        if (work > SLICE) {
          work = 0;
          yield;
        }
        // A backslash at the end of a line escapes the line break.
        if (escaped) escaped = false;
      }
      if (close < 0) {
        pushError({ line: lineNo, key, message: `Unterminated ${quote === '"' ? 'double' : 'single'}-quoted value` });
        continue;
      }
      parts.push(segment.slice(0, close));
      const body = parts.join('\n');
      const after = segment.slice(close + 1);
      i = j;
      if (!/^(?:[ \t]+#.*|[ \t]*)$/.test(after)) {
        pushError({ line: lineNo, key, message: 'Unexpected text after the closing quote' });
        continue;
      }
      const value = quote === "'" ? body : body.replace(/\\(.)/gs, (whole, c: string) => DOUBLE_QUOTE_ESCAPES[c] ?? whole);
      entries.push({ key, value, line: lineNo });
      continue;
    }
    const value = stripComment(rest).trim();
    if (/\s/.test(value)) {
      pushError({ line: lineNo, key, message: 'Values containing whitespace must be quoted' });
      continue;
    }
    if (/["']/.test(value)) {
      pushError({ line: lineNo, key, message: 'Unquoted values may not contain quote characters' });
      continue;
    }
    entries.push({ key, value, line: lineNo });
  }
  return { entries, errors, errorCount };
}

/**
 * The lines of a text (split at LF or CRLF), found as they are asked for: no up-front split of the whole
 * text, so the parser's slices stay short.
 */
class LineReader {
  private readonly starts: number[] = [0];
  private complete = false;

  constructor(private readonly text: string) {}

  /** Line `j` (0-based) without its line break, or undefined past the last line. */
  get(j: number): string | undefined {
    while (this.starts.length <= j + 1 && !this.complete) {
      const newline = this.text.indexOf('\n', this.starts[this.starts.length - 1]!);
      if (newline < 0) {
        this.starts.push(this.text.length + 1);
        this.complete = true;
      } else this.starts.push(newline + 1);
    }
    if (j + 1 >= this.starts.length) return undefined;
    const start = this.starts[j]!;
    let end = this.starts[j + 1]! - 1;
    if (end < this.text.length && end > start && this.text.charCodeAt(end - 1) === 0x0d) end--;
    return this.text.slice(start, end);
  }
}

/** An unquoted value without its comment: `#` at the start or after a space or tab ends it (one pass). */
function stripComment(rest: string): string {
  for (let k = 0; k < rest.length; k++) {
    if (rest.charCodeAt(k) === 0x23 && (k === 0 || rest[k - 1] === ' ' || rest[k - 1] === '\t')) return rest.slice(0, k);
  }
  return rest;
}

// ---------------------------------------------------------------------------------------------------------
// Rules

interface RuleOptions {
  requiredKeys: readonly string[];
  /** SaaS services read secrets from Secrets Manager through IAM, so only that reference form is allowed. */
  secretsManagerOnly: boolean;
}

function* checkEntries(entries: readonly DotEnvEntry[], options: RuleOptions, withLines: boolean): Generator<void, ConfigViolation[]> {
  const violations: ConfigViolation[] = [];
  const at = (entry: DotEnvEntry) => (withLines ? { line: entry.line } : {});
  const seen = new Set<string>();
  let work = 0;
  for (const entry of entries) {
    const { key, value } = entry;
    work += 16 + value.length;
    if (work > SLICE) {
      work = 0;
      yield;
    }
    if (seen.has(key)) {
      violations.push({ key, code: 'DUPLICATE_KEY', message: `${key} is set more than once; which value applies is ambiguous.`, ...at(entry) });
    }
    seen.add(key);
    if (!KEY_NAME.test(key)) {
      violations.push({ key, code: 'INVALID_KEY_NAME', message: 'Key names use letters, digits and "_" and do not start with a digit.', ...at(entry) });
      continue;
    }
    if (key === 'APP_DEBUG' && value !== 'false') {
      violations.push({ key, code: 'APP_DEBUG_NOT_FALSE', message: `APP_DEBUG must be "false" in production (found ${describe(value)}).`, ...at(entry) });
    }
    if (key === 'APP_ENV' && value !== 'production') {
      violations.push({ key, code: 'APP_ENV_NOT_PRODUCTION', message: `APP_ENV must be "production" (found ${describe(value)}).`, ...at(entry) });
    }
    if (isSecretKey(key)) {
      if (value !== '' && !isSecretReference(value)) {
        violations.push({
          key,
          code: 'SECRET_LITERAL',
          message: `${key} holds a literal value; secrets must be references (secretsmanager:<id>, ref:<name> or \${ref:<name>}) or left empty.`,
          ...at(entry),
        });
      } else if (value !== '' && options.secretsManagerOnly && !SECRETS_MANAGER_REF.test(value)) {
        violations.push({
          key,
          code: 'SECRET_SOURCE_NOT_ALLOWED',
          message: `${key} must reference AWS Secrets Manager (secretsmanager:<id>) in this mode.`,
          ...at(entry),
        });
      }
    } else {
      const credentials = URL_CREDENTIALS.exec(value);
      if (credentials && !isSecretReference(credentials[1]!)) {
        violations.push({ key, code: 'SECRET_LITERAL', message: `${key} embeds a password in a URL; reference it instead.`, ...at(entry) });
      }
    }
  }
  const set = new Set(entries.filter((entry) => entry.value !== '').map((entry) => entry.key));
  for (const key of options.requiredKeys) {
    if (!set.has(key)) violations.push({ key, code: 'REQUIRED_KEY_MISSING', message: `${key} is required and must not be empty.` });
  }
  return violations;
}

/** Short, safe rendering of a non-secret value for messages. */
function describe(value: string): string {
  if (value === '') return 'an empty value';
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}

function toEntries(env: Readonly<Record<string, unknown>>): DotEnvEntry[] {
  return Object.entries(env).map(([key, value], index) => ({
    key,
    value: typeof value === 'string' ? value : String(value),
    line: index + 1,
  }));
}

/**
 * Validate a mode's runtime configuration, given as an object or as `.env` text (SPEC §5
 * `POST /packaging/validate-config`). Required keys per mode are REQUIRED_CONFIG_KEYS.
 */
export function validateConfig(mode: DeploymentMode, env: Readonly<Record<string, string>> | string): ConfigValidationResult {
  return drain(validateConfigSteps(mode, env));
}

/**
 * validateConfig for a server: the same result, computed in slices with the event loop free in between, so
 * 256 KiB of `.env` text never holds up other requests served by the same process.
 */
export async function validateConfigCooperatively(mode: DeploymentMode, env: Readonly<Record<string, string>> | string): Promise<ConfigValidationResult> {
  const steps = validateConfigSteps(mode, env);
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

function* validateConfigSteps(mode: DeploymentMode, env: Readonly<Record<string, string>> | string): Generator<void, ConfigValidationResult> {
  const options: RuleOptions = { requiredKeys: REQUIRED_CONFIG_KEYS[mode], secretsManagerOnly: mode === 'saas' };
  let violations: ConfigViolation[];
  if (typeof env === 'string') {
    const { entries, errors, errorCount } = yield* parseDotEnvSteps(env, MAX_REPORTED_VIOLATIONS);
    violations = errors.map((e): ConfigViolation => ({ key: e.key ?? `line ${e.line}`, code: 'SYNTAX_ERROR', message: `Line ${e.line}: ${e.message}.`, line: e.line }));
    const more = yield* checkEntries(entries, options, true);
    return result(violations, errorCount - violations.length, more);
  }
  violations = yield* checkEntries(toEntries(env), options, false);
  return result(violations, 0, []);
}

function result(first: ConfigViolation[], dropped: number, rest: ConfigViolation[]): ConfigValidationResult {
  const all = dropped === 0 ? [...first, ...rest] : first;
  const total = first.length + dropped + rest.length;
  const violations = all.slice(0, MAX_REPORTED_VIOLATIONS);
  const omitted = total - violations.length;
  return { valid: total === 0, violations, ...(omitted > 0 ? { omitted } : {}) };
}

function drain<T>(steps: Generator<void, T>): T {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

/**
 * Rules for the `config` a release manifest ships (SPEC §6): APP_DEBUG "false" and APP_ENV "production"
 * are required, and no secret literals. Mode-specific keys are supplied at install, so not required here.
 */
export function validateReleaseConfig(config: Readonly<Record<string, string>>): ConfigValidationResult {
  return result(drain(checkEntries(toEntries(config), { requiredKeys: ['APP_DEBUG', 'APP_ENV'], secretsManagerOnly: false }, false)), 0, []);
}
