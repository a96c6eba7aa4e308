// Fault injection for the MD steps (POST /md/faults): the legacy model (emulator/legacy/faults.ts) — JSON
// rules that make the next matching step misbehave, each firing `times` times (default 1) — over the steps
// of docs/protocol-md.md: the handshake (§2.2), pair-device (§6.1), pair-success (§6.4), a login (§8.2), its
// <success> (§8.3), and the answer to remove-companion-device (a logout, §14).

export const MD_STEPS = ['handshake', 'pair-device', 'pair-success', 'login', 'success', 'logout'] as const;
export type MdStep = (typeof MD_STEPS)[number];

/**
 * <failure reason> codes a rule may force (§8.3): logged out, main device gone, client outdated, unknown
 * logout, try later (429, 503), the server failed (500).
 */
export const FAILURE_REASONS = [401, 403, 405, 406, 429, 500, 503] as const;
/** Bare `<stream:error code>` codes a rule may send (§10): anything but 515 and the conflicts is "reconnect". */
export const STREAM_ERROR_CODES = [500, 503] as const;
/** The login IQs (§9) an iqError rule may refuse: the pre-key count and upload (`encrypt`), `passive`. */
export const IQ_ERROR_NAMESPACES = ['encrypt', 'passive'] as const;
/** companion_hello rejections (§7.6). */
export const COMPANION_HELLO_STATUSES = [400, 403, 429, 452, 500] as const;

export type MdFaultRule =
  /** `at` a step: instead of that step the socket closes. `now`: every MD socket closes at once. */
  | { kind: 'closeSocket'; at: MdStep | 'now'; times?: number }
  /** That step happens `ms` later. */
  | { kind: 'delay'; at: MdStep; ms: number; times?: number }
  /** The next handshake's payload (registration or login) is answered `<failure reason>`. */
  | { kind: 'failure'; reason: (typeof FAILURE_REASONS)[number]; times?: number }
  /** The next companion_hello is refused with this code. */
  | { kind: 'companionHello'; status: (typeof COMPANION_HELLO_STATUSES)[number]; times?: number }
  /** Every QR and pair-code ref alive now expires at once (applied when posted). */
  | { kind: 'expireRefs'; times?: number }
  /** The next transport frame the server sends has one ciphertext byte flipped. */
  | { kind: 'corruptFrame'; times?: number }
  /** Every MD socket past its handshake gets `<stream:error code>` and closes (applied when posted). */
  | { kind: 'streamError'; code: (typeof STREAM_ERROR_CODES)[number]; times?: number }
  /** The next IQ of `xmlns` (and `type`, when given) is answered `<error code>` instead (§9). */
  | {
      kind: 'iqError';
      xmlns: (typeof IQ_ERROR_NAMESPACES)[number];
      type?: 'get' | 'set';
      code: number;
      times?: number;
    }
  /** The next pair-device carries refs no QR can hold: each with a comma, the QR's separator (§6.2). */
  | { kind: 'badRefs'; times?: number }
  /** The next ServerHello carries a certificate chain with its last byte flipped (a signature fails, §2.4). */
  | { kind: 'badCertificate'; times?: number };

export type MdFaultKind = MdFaultRule['kind'];

export class MdFaultError extends Error {
  override readonly name = 'MdFaultError';
}

function isStep(value: unknown): value is MdStep {
  return typeof value === 'string' && (MD_STEPS as readonly string[]).includes(value);
}

/** Checks an untrusted rule; MdFaultError carries a message fit for a 400 answer. */
export function parseMdFaultRule(input: unknown): MdFaultRule {
  if (!input || typeof input !== 'object' || Array.isArray(input)) {
    throw new MdFaultError('a rule is a JSON object');
  }
  const rule = input as Record<string, unknown>;
  if (rule.times !== undefined && !(Number.isInteger(rule.times) && (rule.times as number) > 0)) {
    throw new MdFaultError('times must be a positive integer');
  }
  switch (rule.kind) {
    case 'closeSocket':
      if (!isStep(rule.at) && rule.at !== 'now') {
        throw new MdFaultError(`closeSocket needs "at": now or one of ${MD_STEPS.join(', ')}`);
      }
      break;
    case 'delay':
      if (!isStep(rule.at)) throw new MdFaultError(`delay needs "at", one of ${MD_STEPS.join(', ')}`);
      if (typeof rule.ms !== 'number' || !(rule.ms >= 0 && rule.ms <= 120_000)) {
        throw new MdFaultError('delay needs "ms" in 0..120000');
      }
      break;
    case 'failure':
      if (!(FAILURE_REASONS as readonly unknown[]).includes(rule.reason)) {
        throw new MdFaultError(`failure.reason is one of ${FAILURE_REASONS.join(', ')}`);
      }
      break;
    case 'companionHello':
      if (!(COMPANION_HELLO_STATUSES as readonly unknown[]).includes(rule.status)) {
        throw new MdFaultError(`companionHello.status is one of ${COMPANION_HELLO_STATUSES.join(', ')}`);
      }
      break;
    case 'iqError':
      if (!(IQ_ERROR_NAMESPACES as readonly unknown[]).includes(rule.xmlns)) {
        throw new MdFaultError(`iqError.xmlns is one of ${IQ_ERROR_NAMESPACES.join(', ')}`);
      }
      if (rule.type !== undefined && rule.type !== 'get' && rule.type !== 'set') {
        throw new MdFaultError('iqError.type is get or set');
      }
      if (!(Number.isInteger(rule.code) && (rule.code as number) >= 400 && (rule.code as number) <= 599)) {
        throw new MdFaultError('iqError.code is an integer in 400..599');
      }
      break;
    case 'streamError':
      if (!(STREAM_ERROR_CODES as readonly unknown[]).includes(rule.code)) {
        throw new MdFaultError(`streamError.code is one of ${STREAM_ERROR_CODES.join(', ')}`);
      }
      break;
    case 'expireRefs':
    case 'corruptFrame':
    case 'badCertificate':
    case 'badRefs':
      break;
    default:
      throw new MdFaultError(`unknown MD fault kind ${JSON.stringify(rule.kind)}`);
  }
  return rule as unknown as MdFaultRule;
}

interface ActiveRule {
  rule: MdFaultRule;
  remaining: number;
}

export class MdFaultBook {
  private rules: ActiveRule[] = [];

  add(rule: MdFaultRule): void {
    this.rules.push({ rule, remaining: rule.times ?? 1 });
  }

  list(): MdFaultRule[] {
    return this.rules.map((r) => ({ ...r.rule, times: r.remaining }));
  }

  clear(): void {
    this.rules = [];
  }

  /** Consumes and returns the first rule of `kind` that matches. */
  take<K extends MdFaultKind>(
    kind: K,
    matches: (rule: Extract<MdFaultRule, { kind: K }>) => boolean = () => true,
  ): Extract<MdFaultRule, { kind: K }> | undefined {
    const found = this.rules.find(
      (r) => r.rule.kind === kind && matches(r.rule as Extract<MdFaultRule, { kind: K }>),
    );
    if (!found) return undefined;
    found.remaining -= 1;
    if (found.remaining <= 0) this.rules = this.rules.filter((r) => r !== found);
    return found.rule as Extract<MdFaultRule, { kind: K }>;
  }

  /** The close or delay rule for a step, if one is armed (the close wins). */
  atStep(step: MdStep): { close: true } | { delayMs: number } | undefined {
    if (this.take('closeSocket', (r) => r.at === step)) return { close: true };
    const delay = this.take('delay', (r) => r.at === step);
    return delay ? { delayMs: delay.ms } : undefined;
  }
}
