// Fault injection: rules posted to /faults that make the next matching step misbehave.
// Each rule fires `times` times (default 1) and is then gone.

export const STEPS = ['init', 'reref', 'scan', 'conn', 'login', 'challenge', 'ready', 'logout'] as const;
export type Step = (typeof STEPS)[number];

export type FaultRule =
  | { kind: 'closeSocket'; at: Step; times?: number }
  | { kind: 'closeSocket'; afterFrames: number; times?: number }
  | { kind: 'closeSocket'; at: 'now'; times?: number }
  | { kind: 'dropPing'; times?: number }
  | { kind: 'delay'; at: Step; ms: number; times?: number }
  | { kind: 'corruptHmac'; times?: number }
  | { kind: 'rerefStatus'; status: 200 | 304 | 429; times?: number }
  | { kind: 'initStatus'; status: 400 | 500 | 'update'; times?: number }
  | { kind: 'initLate'; ms: number; times?: number }
  | { kind: 'sendGarbage'; times?: number }
  | { kind: 'challengeStatus'; status: 401 | 409; times?: number }
  | { kind: 'challenge'; times?: number }
  | { kind: 'loginStatus'; status: 400 | 401 | 403 | 405 | 409 | 419 | 500; times?: number }
  | { kind: 'badSecret'; times?: number }
  // A hostile or odd server, for client tests: the next init or reref answer is `body` instead, and the
  // next Conn push carries `fields` over its own (docs/protocol.md §2.1-2.3).
  | { kind: 'answer'; at: 'init' | 'reref'; body: Record<string, unknown>; times?: number }
  | { kind: 'connFields'; fields: Record<string, unknown>; times?: number }
  | { kind: 'cdn'; status?: 404 | 410 | 500; body?: 'truncate' | 'corrupt' | 'empty'; times?: number };

export type FaultKind = FaultRule['kind'];

const LOGIN_STATUSES = [400, 401, 403, 405, 409, 419, 500];

export class FaultError extends Error {}

function isStep(value: unknown): value is Step {
  return typeof value === 'string' && (STEPS as readonly string[]).includes(value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function positiveInt(value: unknown): boolean {
  return Number.isInteger(value) && (value as number) > 0;
}

/** Checks an untrusted rule object; throws FaultError with a message fit for a 400 answer. */
export function parseFaultRule(input: unknown): FaultRule {
  if (!input || typeof input !== 'object') throw new FaultError('a rule is a JSON object');
  const rule = input as Record<string, unknown>;
  if (rule.times !== undefined && !positiveInt(rule.times))
    throw new FaultError('times must be a positive integer');
  switch (rule.kind) {
    case 'closeSocket':
      if (rule.at !== undefined && (isStep(rule.at) || rule.at === 'now')) break;
      if (rule.afterFrames !== undefined && positiveInt(rule.afterFrames)) break;
      throw new FaultError(
        `closeSocket needs "at" (now or one of ${STEPS.join(', ')}) or a positive "afterFrames"`,
      );
    case 'delay':
      if (!isStep(rule.at)) throw new FaultError(`delay needs "at", one of ${STEPS.join(', ')}`);
      if (typeof rule.ms !== 'number' || rule.ms < 0 || rule.ms > 120_000)
        throw new FaultError('delay needs "ms" in 0..120000');
      break;
    case 'rerefStatus':
      if (rule.status !== 200 && rule.status !== 304 && rule.status !== 429)
        throw new FaultError('rerefStatus.status is 200, 304 or 429');
      break;
    case 'initStatus':
      if (rule.status !== 400 && rule.status !== 500 && rule.status !== 'update')
        throw new FaultError('initStatus.status is 400, 500 or "update"');
      break;
    case 'challengeStatus':
      if (rule.status !== 401 && rule.status !== 409)
        throw new FaultError('challengeStatus.status is 401 or 409');
      break;
    case 'initLate':
      if (typeof rule.ms !== 'number' || rule.ms < 0 || rule.ms > 120_000)
        throw new FaultError('initLate needs "ms" in 0..120000');
      break;
    case 'loginStatus':
      if (!LOGIN_STATUSES.includes(rule.status as number)) {
        throw new FaultError(`loginStatus.status is one of ${LOGIN_STATUSES.join(', ')}`);
      }
      break;
    case 'cdn':
      if (rule.status === undefined && rule.body === undefined)
        throw new FaultError('cdn needs "status" or "body"');
      if (rule.status !== undefined && ![404, 410, 500].includes(rule.status as number)) {
        throw new FaultError('cdn.status is 404, 410 or 500');
      }
      if (rule.body !== undefined && !['truncate', 'corrupt', 'empty'].includes(rule.body as string)) {
        throw new FaultError('cdn.body is truncate, corrupt or empty');
      }
      break;
    case 'answer':
      if (rule.at !== 'init' && rule.at !== 'reref') throw new FaultError('answer needs "at": init or reref');
      if (!isObject(rule.body)) throw new FaultError('answer needs "body", a JSON object');
      break;
    case 'connFields':
      if (!isObject(rule.fields)) throw new FaultError('connFields needs "fields", a JSON object');
      break;
    case 'corruptHmac':
    case 'dropPing':
    case 'sendGarbage':
    case 'challenge':
    case 'badSecret':
      break;
    default:
      throw new FaultError(`unknown fault kind ${JSON.stringify(rule.kind)}`);
  }
  return rule as unknown as FaultRule;
}

interface ActiveRule {
  id: number;
  rule: FaultRule;
  remaining: number;
  /** closeSocket afterFrames: client frames still to come before it fires. */
  framesLeft?: number;
}

export class FaultBook {
  private rules: ActiveRule[] = [];
  private nextId = 1;

  add(rule: FaultRule): void {
    const active: ActiveRule = { id: this.nextId++, rule, remaining: rule.times ?? 1 };
    if (rule.kind === 'closeSocket' && 'afterFrames' in rule) active.framesLeft = rule.afterFrames;
    this.rules.push(active);
  }

  list(): FaultRule[] {
    return this.rules.map((r) => ({ ...r.rule, times: r.remaining }));
  }

  clear(): void {
    this.rules = [];
  }

  /** Whether take(kind, matches) would find a rule now, without consuming it. */
  armed<K extends FaultKind>(
    kind: K,
    matches: (rule: Extract<FaultRule, { kind: K }>) => boolean = () => true,
  ): boolean {
    return this.rules.some(
      (r) =>
        r.rule.kind === kind &&
        r.framesLeft === undefined &&
        matches(r.rule as Extract<FaultRule, { kind: K }>),
    );
  }

  /** Consumes and returns the first rule of `kind` that matches, or undefined. */
  take<K extends FaultKind>(
    kind: K,
    matches: (rule: Extract<FaultRule, { kind: K }>) => boolean = () => true,
  ) {
    const found = this.rules.find(
      (r) =>
        r.rule.kind === kind &&
        r.framesLeft === undefined &&
        matches(r.rule as Extract<FaultRule, { kind: K }>),
    );
    if (!found) return undefined;
    found.remaining -= 1;
    if (found.remaining <= 0) this.rules = this.rules.filter((r) => r !== found);
    return found.rule as Extract<FaultRule, { kind: K }>;
  }

  /** Counts one client frame against every afterFrames rule; true when one of them fires now. */
  countFrame(): boolean {
    let fire = false;
    for (const r of this.rules) {
      if (r.framesLeft === undefined) continue;
      r.framesLeft -= 1;
      if (r.framesLeft <= 0) {
        fire = true;
        r.remaining -= 1;
        const rule = r.rule as { afterFrames: number };
        r.framesLeft = rule.afterFrames;
      }
    }
    this.rules = this.rules.filter((r) => r.remaining > 0);
    return fire;
  }
}
