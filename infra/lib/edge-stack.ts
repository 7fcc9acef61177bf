// The edge stack (us-east-1): the WAF web ACL in front of the API.
//
// Why here: WAFv2 cannot be associated with an API Gateway HTTP API. The API is therefore served
// through a CloudFront distribution (platform stack) and the web ACL is attached to CloudFront;
// web ACLs for CloudFront must be created in us-east-1, hence this small separate stack. The
// distribution adds a secret header that the API's authorizer checks, so the execute-api
// endpoint cannot be used to go around the WAF.
//
// Rules, in order:
//   0. planned-stop (only while stages/<stage>.json has planned_stop): 503 problem+json with
//      Retry-After for the listed path prefixes, except for the allowed source CIDRs;
//   1. rate limit per client IP on everything (but the providers' signed callbacks, which get
//      their own, larger one: 4.), 2. a tighter one on the staff routes
//      (/v1/ops/, /v1/staff/, /v1/audit/: operations, sign-in, the audit trail), 3. one on card
//      authentication (/v1/card-auth/: challenges and citizen sign-in; the binding per-source
//      limit, since the application only limits per process); 4. one on the providers' signed
//      callbacks (a provider calls from a few addresses for all its customers);
//   5. AWS managed rule groups: IP reputation, known bad inputs, common rule set — the common
//      set's body rules counting only, and a rule after it blocking on their labels everywhere but
//      the operators' bulk uploads (/v1/ops/card-auth/: DER CRLs and CSV feeds up to 4 MiB,
//      whose bytes must not be read as text attacks) and the providers' signed callbacks; its
//      missing-User-Agent rule counting only too, and a rule blocking on its label everywhere but
//      the signed callbacks (server-to-server clients need not send a User-Agent; the callback's
//      HMAC signature over the exact body is checked before anything parses it).

import { ArnFormat, CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import type { Construct } from 'constructs';
import { pathTemplatesRegex } from './conventions';
import type { StageConfig } from './stage-config';

/** Path prefixes of the staff routes, which get the tighter per-IP rate limit. */
export const STAFF_PATH_PREFIXES = ['/v1/ops/', '/v1/staff/', '/v1/audit/'];

/** Path prefix of card authentication (challenges, citizen sign-in and sign-out). */
export const CARD_AUTH_PATH_PREFIX = '/v1/card-auth/';

/**
 * Path prefixes of operator bulk uploads (CRL imports as application/pkix-crl, linkage feeds as
 * text/csv, up to 4 MiB each; staff routes behind a bearer token): the common rule set's body
 * rules only count there.
 */
export const BULK_UPLOAD_PATH_PREFIXES = ['/v1/ops/card-auth/'];

/**
 * Body rules of AWSManagedRulesCommonRuleSet (rule name → label it adds). They are set to count,
 * and the rule `common-body-rules` blocks on their labels outside BULK_UPLOAD_PATH_PREFIXES:
 * the size rule would refuse every upload above 8 KB, and the pattern rules read binary DER and
 * CSV as text. SizeRestrictions_BODY only counts everywhere (the platform enforces its own
 * limits: MKPF_MAX_BODY_BYTES, 64 KiB, and 4 MiB on the uploads, answered with a 413).
 */
export const COMMON_BODY_RULES: Readonly<Record<string, string>> = {
  CrossSiteScripting_BODY: 'awswaf:managed:aws:core-rule-set:CrossSiteScripting_Body',
  GenericLFI_BODY: 'awswaf:managed:aws:core-rule-set:GenericLFI_Body',
  GenericRFI_BODY: 'awswaf:managed:aws:core-rule-set:GenericRFI_Body',
  EC2MetaDataSSRF_BODY: 'awswaf:managed:aws:core-rule-set:EC2MetaDataSSRF_Body',
};

/** The common rule set's missing-User-Agent rule and its label (see SIGNED_WEBHOOK_ACCESS in conventions.ts). */
export const NO_USER_AGENT_RULE = 'NoUserAgent_HEADER';
export const NO_USER_AGENT_LABEL = 'awswaf:managed:aws:core-rule-set:NoUserAgent_Header';

export interface EdgeStackProps extends StackProps {
  readonly config: StageConfig;
  /**
   * Path templates of the signed webhook routes (manifest routes only providers call,
   * conventions.ts isSignedWebhook): exempt from the body-pattern and missing-User-Agent rules.
   */
  readonly webhookPaths?: readonly string[];
}

export class EdgeStack extends Stack {
  readonly webAcl: wafv2.CfnWebACL;
  readonly webAclArn: string;

  constructor(scope: Construct, id: string, props: EdgeStackProps) {
    super(scope, id, props);
    const { config } = props;
    const metric = (name: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true,
      sampledRequestsEnabled: true,
      metricName: `mkpf-${config.stage}-${name}`,
    });

    const rules: wafv2.CfnWebACL.RuleProperty[] = [];
    const customResponseBodies: Record<string, wafv2.CfnWebACL.CustomResponseBodyProperty> = {
      'too-many-requests': {
        contentType: 'APPLICATION_JSON',
        content: JSON.stringify({
          type: 'about:blank',
          title: 'Too Many Requests',
          status: 429,
          code: 'rate_limited',
          detail: 'Too many requests from this address; retry later.',
        }),
      },
    };

    if (config.plannedStop) {
      const stop = config.plannedStop;
      customResponseBodies['planned-stop'] = {
        contentType: 'APPLICATION_JSON',
        content: JSON.stringify({ type: 'about:blank', title: 'Service Unavailable', status: 503, code: 'service_unavailable', detail: stop.message }),
      };
      const pathMatches: wafv2.CfnWebACL.StatementProperty[] = stop.paths.map((p) => ({
        byteMatchStatement: {
          fieldToMatch: { uriPath: {} },
          positionalConstraint: 'STARTS_WITH',
          searchString: p,
          textTransformations: [{ priority: 0, type: 'NONE' }],
        },
      }));
      const onPaths: wafv2.CfnWebACL.StatementProperty = pathMatches.length === 1 ? pathMatches[0] : { orStatement: { statements: pathMatches } };
      let statement = onPaths;
      if (stop.allowCidrs.length > 0) {
        const allowed = new wafv2.CfnIPSet(this, 'PlannedStopAllowed', {
          name: `mkpf-${config.stage}-planned-stop-allowed`,
          scope: 'CLOUDFRONT',
          ipAddressVersion: 'IPV4',
          addresses: [...stop.allowCidrs],
          description: `Sources admitted during a planned stop, from stages/${config.stage}.json`,
        });
        statement = { andStatement: { statements: [onPaths, { notStatement: { statement: { ipSetReferenceStatement: { arn: allowed.attrArn } } } }] } };
      }
      rules.push({
        name: 'planned-stop',
        priority: 0,
        statement,
        action: {
          block: {
            customResponse: {
              responseCode: 503,
              customResponseBodyKey: 'planned-stop',
              responseHeaders: [{ name: 'retry-after', value: String(stop.retryAfterSecs) }],
            },
          },
        },
        visibilityConfig: metric('planned-stop'),
      });
    }

    // The providers' signed callbacks (manifest routes only providers call).
    const webhooks: wafv2.CfnWebACL.StatementProperty[] =
      (props.webhookPaths ?? []).length > 0
        ? [{ regexMatchStatement: { fieldToMatch: { uriPath: {} }, regexString: pathTemplatesRegex(props.webhookPaths!), textTransformations: [{ priority: 0, type: 'NONE' }] } }]
        : [];
    const not = (statements: wafv2.CfnWebACL.StatementProperty[]): wafv2.CfnWebACL.StatementProperty => ({
      notStatement: { statement: statements.length === 1 ? statements[0] : { orStatement: { statements } } },
    });

    const rateLimited = { block: { customResponse: { responseCode: 429, customResponseBodyKey: 'too-many-requests', responseHeaders: [{ name: 'retry-after', value: '300' }] } } };
    rules.push({
      name: 'rate-per-ip',
      priority: 10,
      statement: {
        rateBasedStatement: {
          limit: config.waf.requestsPerIpPer5Min,
          aggregateKeyType: 'IP',
          evaluationWindowSec: 300,
          scopeDownStatement: webhooks.length > 0 ? not(webhooks) : undefined,
        },
      },
      action: rateLimited,
      visibilityConfig: metric('rate-per-ip'),
    });
    if (webhooks.length > 0) {
      rules.push({
        name: 'rate-per-ip-webhooks',
        priority: 13,
        statement: { rateBasedStatement: { limit: config.waf.webhookRequestsPerIpPer5Min, aggregateKeyType: 'IP', evaluationWindowSec: 300, scopeDownStatement: webhooks[0] } },
        action: rateLimited,
        visibilityConfig: metric('rate-per-ip-webhooks'),
      });
    }
    rules.push({
      name: 'rate-per-ip-ops',
      priority: 11,
      statement: {
        rateBasedStatement: {
          limit: config.waf.opsRequestsPerIpPer5Min,
          aggregateKeyType: 'IP',
          evaluationWindowSec: 300,
          // Staff routes: operations, staff sign-in and self-service, the audit trail.
          scopeDownStatement: {
            orStatement: {
              statements: STAFF_PATH_PREFIXES.map((prefix) => ({
                byteMatchStatement: {
                  fieldToMatch: { uriPath: {} },
                  positionalConstraint: 'STARTS_WITH',
                  searchString: prefix,
                  textTransformations: [{ priority: 0, type: 'LOWERCASE' }],
                },
              })),
            },
          },
        },
      },
      action: rateLimited,
      visibilityConfig: metric('rate-per-ip-ops'),
    });
    rules.push({
      name: 'rate-per-ip-card-auth',
      priority: 12,
      statement: {
        rateBasedStatement: {
          limit: config.waf.cardAuthRequestsPerIpPer5Min,
          aggregateKeyType: 'IP',
          evaluationWindowSec: 300,
          // Card authentication: challenges and sign-ins per source address.
          scopeDownStatement: {
            byteMatchStatement: {
              fieldToMatch: { uriPath: {} },
              positionalConstraint: 'STARTS_WITH',
              searchString: CARD_AUTH_PATH_PREFIX,
              textTransformations: [{ priority: 0, type: 'LOWERCASE' }],
            },
          },
        },
      },
      action: rateLimited,
      visibilityConfig: metric('rate-per-ip-card-auth'),
    });

    const managed = (name: string, priority: number, excluded: wafv2.CfnWebACL.RuleActionOverrideProperty[] = []): wafv2.CfnWebACL.RuleProperty => ({
      name,
      priority,
      statement: { managedRuleGroupStatement: { vendorName: 'AWS', name, ruleActionOverrides: excluded.length > 0 ? excluded : undefined } },
      overrideAction: { none: {} },
      visibilityConfig: metric(name),
    });
    rules.push(managed('AWSManagedRulesAmazonIpReputationList', 20));
    rules.push(managed('AWSManagedRulesKnownBadInputsRuleSet', 21));
    // The common rule set blocks bodies over 8 KB; the platform enforces its own limit
    // (MKPF_MAX_BODY_BYTES, 64 KiB by default, answered with a problem+json 413), so that one
    // rule only counts. Its body pattern rules count too, and block through their labels in the
    // next rule, except on the bulk uploads (COMMON_BODY_RULES).
    rules.push(
      managed('AWSManagedRulesCommonRuleSet', 22, [
        { name: 'SizeRestrictions_BODY', actionToUse: { count: {} } },
        ...Object.keys(COMMON_BODY_RULES).map((name) => ({ name, actionToUse: { count: {} } })),
        { name: NO_USER_AGENT_RULE, actionToUse: { count: {} } },
      ]),
    );
    const labels = Object.values(COMMON_BODY_RULES).map((key) => ({ labelMatchStatement: { scope: 'LABEL', key } }));
    const uploads: wafv2.CfnWebACL.StatementProperty[] = BULK_UPLOAD_PATH_PREFIXES.map((prefix) => ({
      byteMatchStatement: { fieldToMatch: { uriPath: {} }, positionalConstraint: 'STARTS_WITH', searchString: prefix, textTransformations: [{ priority: 0, type: 'NONE' }] },
    }));
    rules.push({
      name: 'common-body-rules',
      priority: 23, // after the rule group: labels are seen by later rules only
      statement: { andStatement: { statements: [{ orStatement: { statements: labels } }, not([...uploads, ...webhooks])] } },
      action: { block: {} },
      visibilityConfig: metric('common-body-rules'),
    });
    const noUserAgent: wafv2.CfnWebACL.StatementProperty = { labelMatchStatement: { scope: 'LABEL', key: NO_USER_AGENT_LABEL } };
    rules.push({
      name: 'common-no-user-agent',
      priority: 24,
      statement: webhooks.length > 0 ? { andStatement: { statements: [noUserAgent, not(webhooks)] } } : noUserAgent,
      action: { block: {} },
      visibilityConfig: metric('common-no-user-agent'),
    });

    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      name: `mkpf-${config.stage}-api`,
      description: `MKPF ${config.stage} API on CloudFront: rate limits and AWS managed rules`,
      scope: 'CLOUDFRONT',
      defaultAction: { allow: {} },
      customResponseBodies,
      rules,
      visibilityConfig: metric('web-acl'),
    });
    this.webAclArn = this.webAcl.attrArn;

    // WAF logs: the log group name must start with aws-waf-logs-. The Authorization header is
    // redacted (bearer tokens never reach a log).
    const wafLogGroupName = `aws-waf-logs-mkpf-${config.stage}`;
    const wafLogs = new logs.LogGroup(this, 'WafLogs', {
      logGroupName: wafLogGroupName,
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: config.retainLogsOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    const logging = new wafv2.CfnLoggingConfiguration(this, 'WafLogging', {
      resourceArn: this.webAcl.attrArn,
      // The log group ARN without the trailing ":*" that LogGroup.logGroupArn carries.
      logDestinationConfigs: [this.formatArn({ service: 'logs', resource: 'log-group', resourceName: wafLogGroupName, arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
      redactedFields: [{ singleHeader: { Name: 'authorization' } }],
    });
    logging.node.addDependency(wafLogs);

    new CfnOutput(this, 'WebAclArn', { value: this.webAcl.attrArn });
    new CfnOutput(this, 'PlannedStop', { value: config.plannedStop ? `on: ${config.plannedStop.paths.join(' ')}` : 'off' });
  }
}
