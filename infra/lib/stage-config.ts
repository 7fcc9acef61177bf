// Per-stage operating parameters: `infra/stages/<stage>.json`. Limits, retention, alarm
// thresholds and recipients, and a planned stop live there, in the repository, so that every
// deploy of a stage applies the same values (a planned stop is not lifted by someone deploying a
// fix without remembering a command-line flag). Nothing account-specific goes in these files:
// the account comes from the AWS profile used to deploy.

import * as fs from 'node:fs';
import * as path from 'node:path';

export const STAGES = ['staging', 'production'] as const;
export type StageName = (typeof STAGES)[number];

export interface Throttle {
  readonly ratePerSec: number;
  readonly burst: number;
}

export interface PlannedStop {
  /** URI path prefixes to close ("/" closes everything). */
  readonly paths: readonly string[];
  /** Source CIDRs still let through (e.g. the operations centre, to check the stage). */
  readonly allowCidrs: readonly string[];
  /** Seconds announced in Retry-After. */
  readonly retryAfterSecs: number;
  /** Shown to callers in the problem+json `detail`. */
  readonly message: string;
}

export interface StageConfig {
  readonly stage: StageName;
  readonly region: string;
  readonly logRetentionDays: number;
  readonly retainLogsOnDelete: boolean;
  readonly api: {
    readonly routeThrottle: Throttle;
    readonly publicRouteThrottle: Throttle;
    /** Staff sign-in (routes signing with the staff token key): small, it caps brute force and argon2 load. */
    readonly credentialsRouteThrottle: Throttle;
    /** Citizen card sign-in (routes signing with the citizen token key): the platform's hot path. */
    readonly cardSignInThrottle: Throttle;
    /**
     * Limits of single routes, by manifest route name (`api.route_throttles`, optional): they win
     * over the route's class. A name the manifest lacks is ignored with a synthesis warning (a
     * test checks the checked-in manifest has every name the stage files give).
     */
    readonly routeThrottles: Readonly<Record<string, Throttle>>;
  };
  readonly waf: {
    readonly requestsPerIpPer5Min: number;
    readonly opsRequestsPerIpPer5Min: number;
    /** `/v1/card-auth/` (challenges, card sign-in): the binding per-source limit (the app limits per process only). */
    readonly cardAuthRequestsPerIpPer5Min: number;
    /**
     * The providers' signed callbacks (conventions.ts isSignedWebhook), instead of the general
     * limit: a payment provider calls from a few addresses at its whole customer base's rate.
     * Optional (`waf.webhook_requests_per_ip_per_5min`); default the general limit.
     */
    readonly webhookRequestsPerIpPer5Min: number;
  };
  readonly cardAuth: {
    /** Where the hourly crl-fetch job downloads the J-LIS CRLs (`MKPF_CRL_URLS`); empty: import by hand. */
    readonly crlUrls: readonly string[];
  };
  readonly alarms: {
    readonly emails: readonly string[];
    readonly route5xxPercent: number;
    readonly routeMinRequests: number;
    readonly routeP99LatencyMs: number;
    readonly queueOldestMessageSecs: number;
  };
  readonly backup: { readonly dailyRetentionDays: number; readonly monthlyRetentionDays: number };
  readonly plannedStop?: PlannedStop;
}

/** Retention periods CloudWatch Logs accepts. */
const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

export const STAGES_DIR = path.resolve(__dirname, '..', 'stages');

export function isStage(s: unknown): s is StageName {
  return typeof s === 'string' && (STAGES as readonly string[]).includes(s);
}

/** Reads `stages/<stage>.json` (or `file`) and checks every value. */
export function loadStageConfig(stage: StageName, file = path.join(STAGES_DIR, `${stage}.json`)): StageConfig {
  return parseStageConfig(stage, JSON.parse(fs.readFileSync(file, 'utf8')), file);
}

export function parseStageConfig(stage: StageName, raw: any, source = `${stage}.json`): StageConfig {
  const problems: string[] = [];
  const int = (v: unknown, at: string, lo: number, hi: number): number => {
    if (typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi) return v;
    problems.push(`${at}: expected a whole number from ${lo} to ${hi}, got ${JSON.stringify(v)}`);
    return lo;
  };
  const num = (v: unknown, at: string, lo: number, hi: number): number => {
    if (typeof v === 'number' && v >= lo && v <= hi) return v;
    problems.push(`${at}: expected a number from ${lo} to ${hi}, got ${JSON.stringify(v)}`);
    return lo;
  };
  const throttle = (v: any, at: string): Throttle => ({
    ratePerSec: int(v?.rate_per_sec, `${at}.rate_per_sec`, 0, 10000),
    burst: int(v?.burst, `${at}.burst`, 0, 5000),
  });
  const routeThrottles = (v: unknown): Record<string, Throttle> => {
    if (v === undefined || v === null) return {};
    if (typeof v !== 'object' || Array.isArray(v)) {
      problems.push('api.route_throttles: expected an object of route name → { rate_per_sec, burst }');
      return {};
    }
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>).map(([name, t]) => {
        if (!/^[a-z0-9][a-z0-9_-]*$/.test(name)) problems.push(`api.route_throttles: ${JSON.stringify(name)} is not a route name`);
        return [name, throttle(t, `api.route_throttles.${name}`)];
      }),
    );
  };
  const strings = (v: unknown, at: string, re: RegExp): string[] => {
    if (!Array.isArray(v)) {
      problems.push(`${at}: expected a list`);
      return [];
    }
    return v.filter((s, i) => {
      const ok = typeof s === 'string' && re.test(s);
      if (!ok) problems.push(`${at}[${i}]: ${JSON.stringify(s)} does not match ${re}`);
      return ok;
    });
  };

  const region = typeof raw?.region === 'string' && /^[a-z]{2}(-[a-z]+)+-\d$/.test(raw.region) ? raw.region : '';
  if (!region) problems.push(`region: expected an AWS region name, got ${JSON.stringify(raw?.region)}`);
  const logRetentionDays = raw?.log_retention_days;
  if (!LOG_RETENTION_DAYS.includes(logRetentionDays)) {
    problems.push(`log_retention_days: ${JSON.stringify(logRetentionDays)} is not one CloudWatch Logs accepts (${LOG_RETENTION_DAYS.join(', ')})`);
  }
  if (typeof raw?.retain_logs_on_delete !== 'boolean') problems.push('retain_logs_on_delete: expected true or false');

  let plannedStop: PlannedStop | undefined;
  if (raw?.planned_stop !== null && raw?.planned_stop !== undefined) {
    const s = raw.planned_stop;
    const paths = strings(s.paths, 'planned_stop.paths', /^\/[A-Za-z0-9._~\/-]*$/);
    if (paths.length === 0) problems.push('planned_stop.paths: name at least one path prefix ("/" for everything)');
    plannedStop = {
      paths,
      allowCidrs: strings(s.allow_cidrs ?? [], 'planned_stop.allow_cidrs', /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/),
      retryAfterSecs: int(s.retry_after_secs ?? 3600, 'planned_stop.retry_after_secs', 1, 7 * 24 * 3600),
      message: typeof s.message === 'string' && s.message.length > 0 && s.message.length <= 500 ? s.message : '',
    };
    if (!plannedStop.message) problems.push('planned_stop.message: expected the text shown to callers (1 to 500 characters)');
  }

  const requestsPerIpPer5Min = int(raw?.waf?.requests_per_ip_per_5min, 'waf.requests_per_ip_per_5min', 10, 2_000_000_000);
  const config: StageConfig = {
    stage,
    region,
    logRetentionDays,
    retainLogsOnDelete: raw?.retain_logs_on_delete === true,
    api: {
      routeThrottle: throttle(raw?.api?.route_throttle, 'api.route_throttle'),
      publicRouteThrottle: throttle(raw?.api?.public_route_throttle, 'api.public_route_throttle'),
      credentialsRouteThrottle: throttle(raw?.api?.credentials_route_throttle, 'api.credentials_route_throttle'),
      cardSignInThrottle: throttle(raw?.api?.card_sign_in_throttle, 'api.card_sign_in_throttle'),
      routeThrottles: routeThrottles(raw?.api?.route_throttles),
    },
    waf: {
      // WAF rate-based rules: 10 ..= 2,000,000,000 requests per evaluation window.
      requestsPerIpPer5Min,
      opsRequestsPerIpPer5Min: int(raw?.waf?.ops_requests_per_ip_per_5min, 'waf.ops_requests_per_ip_per_5min', 10, 2_000_000_000),
      cardAuthRequestsPerIpPer5Min: int(raw?.waf?.card_auth_requests_per_ip_per_5min, 'waf.card_auth_requests_per_ip_per_5min', 10, 2_000_000_000),
      webhookRequestsPerIpPer5Min:
        raw?.waf?.webhook_requests_per_ip_per_5min === undefined
          ? requestsPerIpPer5Min
          : int(raw?.waf?.webhook_requests_per_ip_per_5min, 'waf.webhook_requests_per_ip_per_5min', 10, 2_000_000_000),
    },
    cardAuth: {
      // Plain http:// (CRLs are signed; the Rust side refuses anything else), no whitespace (the
      // environment variable is space-separated).
      crlUrls: raw?.card_auth?.crl_urls === undefined ? [] : strings(raw.card_auth.crl_urls, 'card_auth.crl_urls', /^http:\/\/[A-Za-z0-9.-]+(:\d{1,5})?(\/\S*)?$/),
    },
    alarms: {
      emails: strings(raw?.alarms?.emails, 'alarms.emails', /^[^@\s]+@[^@\s]+\.[^@\s]+$/),
      route5xxPercent: num(raw?.alarms?.route_5xx_percent, 'alarms.route_5xx_percent', 0.01, 100),
      routeMinRequests: int(raw?.alarms?.route_min_requests, 'alarms.route_min_requests', 1, 1_000_000),
      routeP99LatencyMs: int(raw?.alarms?.route_p99_latency_ms, 'alarms.route_p99_latency_ms', 1, 30_000),
      queueOldestMessageSecs: int(raw?.alarms?.queue_oldest_message_secs, 'alarms.queue_oldest_message_secs', 60, 1_209_600),
    },
    backup: {
      dailyRetentionDays: int(raw?.backup?.daily_retention_days, 'backup.daily_retention_days', 1, 36500),
      // 0: no monthly backups.
      monthlyRetentionDays: int(raw?.backup?.monthly_retention_days, 'backup.monthly_retention_days', 0, 36500),
    },
    plannedStop,
  };
  if (config.waf.cardAuthRequestsPerIpPer5Min > config.waf.requestsPerIpPer5Min) {
    problems.push(
      `waf.card_auth_requests_per_ip_per_5min: ${config.waf.cardAuthRequestsPerIpPer5Min} is above waf.requests_per_ip_per_5min (${config.waf.requestsPerIpPer5Min}), which would always bind first`,
    );
  }
  if (new Set(config.cardAuth.crlUrls).size !== config.cardAuth.crlUrls.length) problems.push('card_auth.crl_urls: a URL is listed twice');
  if (problems.length > 0) throw new Error(`invalid stage configuration ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return config;
}
