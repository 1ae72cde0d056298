// parseStatus: status as read back from the API server, validated field by field. Status is the
// operator's own output, so a malformed value must never block reconciling nor crash: an invalid
// member is dropped (from a list: the invalid items), its valid siblings are kept, and every problem
// is returned with its field path for the controller to log; the next status write repairs it.
// The core trusts the types, so an object that is left without a member its type requires is
// dropped as a whole, and status.rollout is used only whole (the rollout state machine restarts
// the step rather than guess, docs/rollout.md). Nothing is defaulted: a valid status comes out
// deep-equal to what went in (Date objects, which client-node may hand over, become RFC 3339).
import {
  CONDITION_TYPES,
  GATE_NAMES,
  PAUSE_REASONS,
  PHASES,
  ROLLOUT_STATES,
  type AnalysisStatus,
  type Condition,
  type ConditionType,
  type FailedRevision,
  type GateMeasurement,
  type LastAction,
  type OnnxModelStatus,
  type RevisionRef,
  type RollbackStableCounts,
  type RollbackStatus,
  type RolloutProgress,
  type ScalingDownRevision,
  type SloMeasurement,
  type VerificationStatus,
  type WindowBurnRate,
} from './types.ts';

export interface StatusParse {
  status: OnnxModelStatus;
  /** One line per dropped value, naming its field, e.g. `status.stable.since is not a date-time ("yesterday")`. */
  problems: string[];
}

/** Validates a status as read from the API server; never throws. */
export function parseStatus(v: unknown): StatusParse {
  const problems: string[] = [];
  if (v === undefined || v === null) return { status: {}, problems };
  try {
    return { status: statusRecord(v, 'status', problems) ?? {}, problems };
  } catch (err) {
    // Not JSON (a getter that throws, a revoked Proxy): nothing of it is trusted.
    return { status: {}, problems: [...problems, `status could not be read (${err instanceof Error ? err.message : show(err)})`] };
  }
}

/** The one validator of status.rollout (the core's readProgress uses it too). */
export function parseRolloutProgress(v: unknown, field = 'status.rollout'): { progress: RolloutProgress | undefined; problems: string[] } {
  const problems: string[] = [];
  return { progress: rolloutRecord(v, field, problems), problems };
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

/** Reads one present (non-null) value: the value to keep, or undefined after pushing the problem. */
type Reader<T> = (v: unknown, field: string, problems: string[]) => T | undefined;
interface Member<T, Required extends boolean> {
  read: Reader<T>;
  required: Required;
}
/** A reader for every key of T, marked required exactly where T requires the key (tsc checks both). */
type Members<T> = { [K in keyof T]-?: Member<NonNullable<T[K]>, object extends Pick<T, K> ? false : true> };
const req = <T>(read: Reader<T>): Member<T, true> => ({ read, required: true });
const opt = <T>(read: Reader<T>): Member<T, false> => ({ read, required: false });

/** A value for a message: JSON, shortened; never throws (cycles, BigInt, objects without a prototype). */
function show(v: unknown): string {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString();
  if (typeof v === 'number') return String(v);
  try {
    const s = JSON.stringify(v);
    if (s !== undefined) return s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    // fall through
  }
  try {
    return String(v);
  } catch {
    return typeof v;
  }
}

const bad = (problems: string[], field: string, what: string, v: unknown): undefined => {
  problems.push(`${field} is not ${what} (${show(v)})`);
  return undefined;
};

const str: Reader<string> = (v, f, ps) => (typeof v === 'string' ? v : bad(ps, f, 'a string', v));
const nonEmpty: Reader<string> = (v, f, ps) => (typeof v === 'string' && v !== '' ? v : bad(ps, f, 'a non-empty string', v));
const bool: Reader<boolean> = (v, f, ps) => (typeof v === 'boolean' ? v : bad(ps, f, 'true or false', v));
const num: Reader<number> = (v, f, ps) => (typeof v === 'number' && Number.isFinite(v) ? v : bad(ps, f, 'a number', v));
const int = (max?: number): Reader<number> => {
  const what = max === undefined ? 'an integer ≥ 0' : `an integer in 0..${max}`;
  return (v, f, ps) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 && (max === undefined || v <= max) ? v : bad(ps, f, what, v));
};
const oneOf =
  <T extends string>(values: readonly T[]): Reader<T> =>
  (v, f, ps) =>
    (values as readonly unknown[]).includes(v) ? (v as T) : bad(ps, f, `one of ${values.join(', ')}`, v);

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const time: Reader<string> = (v, f, ps) => {
  if (v instanceof Date && !Number.isNaN(v.getTime())) return v.toISOString();
  return typeof v === 'string' && RFC3339.test(v) && !Number.isNaN(Date.parse(v)) ? v : bad(ps, f, 'a date-time', v);
};

const list =
  <T>(item: Reader<T>): Reader<T[]> =>
  (v, f, ps) => {
    if (!Array.isArray(v)) return bad(ps, f, 'a list', v);
    const out: T[] = [];
    v.forEach((x, i) => {
      const t = item(x, `${f}[${i}]`, ps);
      if (t !== undefined) out.push(t);
    });
    return out;
  };

/**
 * An object read member by member, in its own key order. It is dropped when a member it requires
 * (`required` overrides the type's list) is missing or invalid, or with `whole` when any member is.
 */
function record<T>(members: Members<T>, opts: { required?: readonly (keyof T & string)[]; whole?: boolean } = {}): Reader<T> {
  const all = members as Record<string, Member<unknown, boolean>>;
  const required = opts.required ?? Object.keys(all).filter((k) => all[k]?.required);
  return (v, f, ps) => {
    if (!isObj(v)) return bad(ps, f, 'an object', v);
    const out: Obj = {};
    const lost: string[] = [];
    for (const [k, x] of Object.entries(v)) {
      const m = Object.hasOwn(all, k) ? all[k] : undefined;
      if (!m) ps.push(`${f}.${k} is not a status field`);
      else if (x !== undefined && x !== null) {
        const val = m.read(x, `${f}.${k}`, ps);
        if (val !== undefined) out[k] = val;
        else lost.push(k);
      }
    }
    const lacking = required.filter((k) => !Object.hasOwn(out, k));
    if (lacking.length > 0) {
      ps.push(`${f} is dropped: it needs a valid ${lacking.join(', ')}`);
      return undefined;
    }
    if (opts.whole && lost.length > 0) {
      ps.push(`${f} is dropped: it is used only whole`);
      return undefined;
    }
    return out as T;
  };
}

const revisionRef = record<RevisionRef>({ revision: req(str), digest: req(str), since: req(time) });
const burnRates = list(record<WindowBurnRate>({ window: req(str), burnRate: req(num) }));
const verdict = oneOf(['pass', 'fail', 'inconclusive', 'error'] as const);

const rolloutRecord = record<RolloutProgress>(
  {
    revision: req(nonEmpty),
    state: req(oneOf(ROLLOUT_STATES)),
    step: req(int()),
    weight: req(int(100)),
    stateSince: req(time),
    servingSince: opt(time),
    pauseReason: opt(oneOf(PAUSE_REASONS)),
    looks: req(int()),
    consecutiveInconclusive: req(int()),
    consecutiveErrors: req(int()),
  },
  { whole: true },
);

const conditionMembers: Members<Condition> = {
  // Conditions of types the operator does not write are others' and are kept as they are.
  type: req(nonEmpty as Reader<ConditionType>),
  status: req(oneOf(['True', 'False', 'Unknown'] as const)),
  reason: req(str),
  message: req(str),
  observedGeneration: req(int()),
  lastTransitionTime: req(time),
};
const ownCondition = record(conditionMembers);
/** Others' conditions need only what the CRD requires; the core passes them through untouched. */
const othersCondition = record(conditionMembers, { required: ['type', 'status'] });
const condition: Reader<Condition> = (v, f, ps) =>
  isObj(v) && typeof v['type'] === 'string' && v['type'] !== '' && !(CONDITION_TYPES as readonly string[]).includes(v['type']) ? othersCondition(v, f, ps) : ownCondition(v, f, ps);

const statusRecord = record<OnnxModelStatus>({
  observedGeneration: opt(int()),
  phase: opt(oneOf(PHASES)),
  desiredRevision: opt(str),
  stable: opt(revisionRef),
  canary: opt(revisionRef),
  currentWeight: opt(int(100)),
  currentStep: opt(int()),
  rollout: opt(rolloutRecord),
  scalingDown: opt(list(record<ScalingDownRevision>({ revision: req(str), digest: req(str), deleteAfter: req(time) }))),
  lastAnalysis: opt(
    record<AnalysisStatus>({
      time: req(time),
      revision: req(str),
      verdict: req(verdict),
      reason: opt(str),
      message: opt(str),
      slos: req(list(record<SloMeasurement>({ name: req(str), requests: req(int()), badEvents: req(int()), burnRates: req(burnRates), verdict: req(verdict), message: opt(str) }))),
      gates: opt(
        list(
          record<GateMeasurement>({
            name: req(oneOf(GATE_NAMES)),
            samples: req(int()),
            stableSamples: req(int()),
            value: req(num),
            bound: req(num),
            verdict: req(verdict),
            message: req(str),
          }),
        ),
      ),
    }),
  ),
  lastRollback: opt(
    record<RollbackStatus>({
      time: req(time),
      revision: req(str),
      digest: req(str),
      reason: req(str),
      message: req(str),
      slo: opt(str),
      requests: opt(int()),
      badEvents: opt(int()),
      burnRates: opt(burnRates),
      window: opt(str),
      lowerBound: opt(num),
      threshold: opt(num),
      judgement: opt(str),
      stable: opt(record<RollbackStableCounts>({ revision: req(str), requests: req(int()), badEvents: req(int()) })),
    }),
  ),
  verification: opt(
    record<VerificationStatus>({ digest: req(str), verified: req(bool), mode: req(oneOf(['Enforce', 'Audit'] as const)), signer: opt(str), reason: opt(str), time: req(time) }),
  ),
  failedRevisions: opt(list(record<FailedRevision>({ revision: req(str), digest: req(str), reason: req(str), time: req(time) }))),
  lastAction: opt(
    record<LastAction>({ value: req(str), action: req(str), nonce: opt(str), outcome: req(oneOf(['Applied', 'Ignored', 'Invalid'] as const)), message: req(str), time: req(time) }),
  ),
  url: opt(str),
  conditions: opt(list(condition)),
});
