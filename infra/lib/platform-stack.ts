// The platform stack (the stage's region): everything the manifest describes, plus what runs it.
//
//   keys        a customer-managed data key (tables, queues, backup vault), an alarms key (SNS),
//               one asymmetric KMS key per manifest signing key, and a secrets key (envelope
//               sealing of secrets at rest) when a function needs `data_key`
//   tables      DynamoDB, on demand, PITR, deletion protection, TTL, GSIs, data key
//   queues      SQS + dead-letter queue + redrive, data key, TLS only
//   functions   one Lambda per route / consumer / job (provided.al2023, arm64, X-Ray, own log
//               group and role with only the declared resources), each with its route or
//               schedule and its alarms, in nested stacks by a stable hash of the function's id
//               (conventions.ts FUNCTION_GROUPS: a stack holds at most 500 resources); all run
//               the same code, the one zip of scripts/package, their Handler (the id) choosing
//               the route, consumer or job it serves
//   consumers   SQS event source mappings (ReportBatchItemFailures, MaximumConcurrency)
//   jobs        EventBridge Scheduler schedules in the manifest's time zone (Asia/Tokyo)
//   api         HTTP API, every route, stage and per-route throttling, access logs, an
//               authorizer that admits only requests coming through CloudFront
//   edge        CloudFront in front of the API with the WAF web ACL of the edge stack: the API's
//               paths (from the manifest) to the API, everything else to the web site
//   web site    web/dist in a private S3 bucket reached through Origin Access Control, its own
//               response headers policy and caching, deployed with an invalidation (web-site.ts)
//   monitoring  alarms to an SNS topic (also on the manifest's metric alarms), a dashboard
//   backup      AWS Backup daily (and monthly) plan over every table
//
// Nothing here names a table, queue, route, consumer or job: they all come from the manifest.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Annotations, ArnFormat, Aws, CfnOutput, CfnParameter, CfnResource, CfnRule, Duration, Fn, NestedStack, RemovalPolicy, Stack, type StackProps, TimeZone, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  FUNCTION_GROUPS,
  FUNCTION_ZIP,
  HEALTH_ACTIONS,
  MAX_RESOURCES_PER_STACK,
  HEALTH_ROUTE,
  ORIGIN_VERIFY_HEADER,
  QUEUE_INSPECT_ACTIONS,
  QUEUE_SEND_ACTIONS,
  SIGN_ACTIONS,
  TABLE_OPERATIONS,
  TABLE_APPEND_ACTIONS,
  TABLE_READ_ACTIONS,
  TABLE_WRITE_ACTIONS,
  CRL_URLS_ENV,
  DATA_KEY_ENV,
  LAMBDA_TASK_ROOT,
  SEALING_ACTIONS,
  SEALING_ENCRYPTION_CONTEXT,
  STAFF_DATA_KEY_ENV,
  STAFF_SEALING_ENCRYPTION_CONTEXT,
  TRUST_ANCHORS_ENV,
  TRUST_ANCHORS_FILE,
  TRUST_ANCHORS_SOURCE,
  VERIFY_ACTIONS,
  functionGroupOf,
  functionName,
  queueName,
  queuePrefix,
  reservedConcurrencyOf,
  routeThrottleOf,
  sizingOf,
  tableName,
  tablePrefix,
} from './conventions';
import { type ConsumerSpec, type FunctionSpec, type JobSpec, type Manifest, type RouteSpec, allFunctions } from './manifest';
import type { StageConfig } from './stage-config';
import { MAX_CACHE_BEHAVIORS, SITE_ASSETS_PATTERN, type SiteContent, WebSite, apiPathPatterns } from './web-site';
import { readZipEntry } from './zip';

/**
 * Where the Lambda code comes from: one asset either way, the same for every function, each
 * function's Handler being its id (conventions.ts FUNCTION_ZIP).
 */
export type LambdaCode =
  /** `<dir>/mkpf-function.zip` (dist/lambda/) as built by scripts/package (deployable). */
  | { readonly kind: 'dist'; readonly dir: string }
  /** A placeholder asset (tests, CI): synthesizes, cannot be deployed. */
  | { readonly kind: 'placeholder' };

export interface PlatformStackProps extends StackProps {
  readonly manifest: Manifest;
  readonly config: StageConfig;
  readonly code: LambdaCode;
  /** The web site's files (web-site.ts): default the placeholder pages. */
  readonly site?: SiteContent;
  /** ARN of the CloudFront-scope WAF web ACL (edge stack, us-east-1). */
  readonly webAclArn: string;
}

export interface PlatformFunction {
  readonly spec: FunctionSpec;
  readonly fn: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
}

export interface PlatformQueue {
  readonly queue: sqs.Queue;
  readonly dlq: sqs.Queue;
}

/** Names of infrastructure functions; a manifest function id may not take them. */
const INFRA_FUNCTIONS = ['origin-verify'];

const INFRA_DIR = path.resolve(__dirname, '..');
export const PLACEHOLDER_CODE_DIR = path.join(INFRA_DIR, 'assets', 'placeholder');
const ORIGIN_VERIFY_CODE_DIR = path.join(INFRA_DIR, 'lambda', 'origin-verify');
/** The JPKI root bundle in the repository (infra/jpki/); scripts/package puts it into the zip. */
export const TRUST_ANCHORS_PATH = path.join(INFRA_DIR, ...TRUST_ANCHORS_SOURCE);

export class PlatformStack extends Stack {
  readonly manifest: Manifest;
  readonly config: StageConfig;
  readonly dataKey: kms.Key;
  readonly alarmsKey: kms.Key;
  /** The symmetric key of secrets sealed at rest; only when a function needs `data_key`. */
  readonly secretsKey?: kms.Key;
  readonly signingKeys = new Map<string, kms.Key>();
  readonly tables = new Map<string, dynamodb.Table>();
  readonly queues = new Map<string, PlatformQueue>();
  readonly schedulerDlq: sqs.Queue;
  /** Keyed by function id (manifest `function`). */
  readonly functions = new Map<string, PlatformFunction>();
  /** Keyed by route name. */
  readonly routes = new Map<string, apigwv2.HttpRoute>();
  /** Keyed by job name. */
  readonly schedules = new Map<string, scheduler.Schedule>();
  /** Every alarm's name (the dashboard shows them by ARN). */
  readonly alarmNames: string[] = [];
  /** Nested stacks holding the functions, keyed by group number (see FUNCTION_GROUPS). */
  readonly functionGroups = new Map<number, NestedStack>();
  readonly api: apigwv2.HttpApi;
  readonly apiStage: apigwv2.HttpStage;
  readonly originVerify: lambda.Function;
  readonly distribution: cloudfront.Distribution;
  /** CloudFront path patterns sent to the API (from the manifest's routes); the rest is the site's. */
  readonly apiPathPatterns: readonly string[];
  readonly site: WebSite;
  readonly alarmTopic: sns.Topic;
  readonly dashboard: cloudwatch.Dashboard;
  readonly backupPlan: backup.BackupPlan;

  constructor(scope: Construct, id: string, props: PlatformStackProps) {
    super(scope, id, props);
    const { manifest, config, code } = props;
    this.manifest = manifest;
    this.config = config;
    const stage = config.stage;
    const logRetention = config.logRetentionDays as logs.RetentionDays;
    const logRemoval = config.retainLogsOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    for (const f of allFunctions(manifest)) {
      if (INFRA_FUNCTIONS.includes(f.function)) throw new Error(`${f.kind} ${f.name}: function id ${f.function} is taken by an infrastructure function`);
    }
    for (const t of manifest.tables) {
      if (tableName(stage, t.name).length > 255) throw new Error(`table ${t.name}: physical name ${tableName(stage, t.name)} is longer than DynamoDB's 255 characters`);
    }
    for (const q of manifest.queues) {
      for (const n of [q.name, q.deadLetterQueue]) {
        if (queueName(stage, n).length > 80) throw new Error(`queue ${n}: physical name ${queueName(stage, n)} is longer than SQS's 80 characters`);
      }
    }

    // --- keys ------------------------------------------------------------------------------------

    this.dataKey = new kms.Key(this, 'DataKey', {
      alias: `alias/mkpf-${stage}-data`,
      description: `MKPF ${stage}: encrypts DynamoDB tables, SQS queues and the backup vault`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.alarmsKey = new kms.Key(this, 'AlarmsKey', {
      alias: `alias/mkpf-${stage}-alarms`,
      description: `MKPF ${stage}: encrypts the alarm topic`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // CloudWatch publishes alarm notifications to the encrypted topic.
    this.alarmsKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'], // in a key policy, "*" is this key
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
    );
    const keysScope = new Construct(this, 'SigningKeys');
    for (const k of manifest.signingKeys) {
      this.signingKeys.set(
        k.name,
        new kms.Key(keysScope, k.name, {
          alias: `alias/mkpf-${stage}-${k.name}`,
          description: `MKPF ${stage}: ${k.purpose || k.name} (${k.signingAlgorithm})`,
          keySpec: k.keySpec as kms.KeySpec,
          keyUsage: kms.KeyUsage.SIGN_VERIFY,
          // Asymmetric keys cannot be rotated automatically; a deleted key would make every
          // signature it made unverifiable, so it is kept when the stack goes.
          removalPolicy: RemovalPolicy.RETAIN,
        }),
      );
    }

    // Secrets sealed at rest (security codes until the provider has them, webhook signing
    // secrets): envelope encryption by the functions that need `data_key` (mkpf_aws::KmsSealer),
    // with a key of its own, so that reading a table (backups, the operator inquiry) never
    // suffices to open them. Rotation keeps the old key material: old values still open.
    if (allFunctions(manifest).some((f) => f.needs.includes('data_key') || f.needs.includes('staff_data_key'))) {
      this.secretsKey = new kms.Key(this, 'SecretsKey', {
        alias: `alias/mkpf-${stage}-secrets`,
        description: `MKPF ${stage}: envelope key of secrets sealed at rest (security codes, webhook signing secrets, staff TOTP seeds); only functions that need data_key or staff_data_key may generate and decrypt data keys, each under its own encryption context`,
        enableKeyRotation: true,
        // A deleted key would make every sealed secret unreadable.
        removalPolicy: RemovalPolicy.RETAIN,
      });
    }

    // --- tables ----------------------------------------------------------------------------------

    const tablesScope = new Construct(this, 'Tables');
    for (const t of manifest.tables) {
      const table = new dynamodb.Table(tablesScope, t.name, {
        tableName: tableName(stage, t.name),
        partitionKey: { name: t.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: t.sortKey ? { name: t.sortKey, type: dynamodb.AttributeType.STRING } : undefined,
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true, recoveryPeriodInDays: 35 },
        deletionProtection: true,
        timeToLiveAttribute: t.ttlAttribute,
        encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryptionKey: this.dataKey,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      for (const i of t.indexes) {
        table.addGlobalSecondaryIndex({
          indexName: i.name,
          partitionKey: { name: i.partitionKey, type: dynamodb.AttributeType.STRING },
          sortKey: i.sortKey ? { name: i.sortKey, type: dynamodb.AttributeType.STRING } : undefined,
          projectionType: dynamodb.ProjectionType.ALL,
        });
      }
      this.tables.set(t.name, table);
    }

    // --- queues ----------------------------------------------------------------------------------

    const queuesScope = new Construct(this, 'Queues');
    for (const q of manifest.queues) {
      const qs = new Construct(queuesScope, q.name);
      const dlq = new sqs.Queue(qs, 'DeadLetters', {
        queueName: queueName(stage, q.deadLetterQueue),
        retentionPeriod: Duration.days(14), // the most SQS keeps: time to inspect and redrive
        encryption: sqs.QueueEncryption.KMS,
        encryptionMasterKey: this.dataKey,
        enforceSSL: true,
      });
      const queue = new sqs.Queue(qs, 'Queue', {
        queueName: queueName(stage, q.name),
        visibilityTimeout: Duration.seconds(q.visibilityTimeoutSecs),
        retentionPeriod: Duration.seconds(q.retentionSecs),
        deadLetterQueue: { queue: dlq, maxReceiveCount: q.maxReceives },
        encryption: sqs.QueueEncryption.KMS,
        encryptionMasterKey: this.dataKey,
        dataKeyReuse: Duration.minutes(5),
        enforceSSL: true,
      });
      this.queues.set(q.name, { queue, dlq });
    }
    // Schedule invocations EventBridge Scheduler could not deliver (after its retries).
    this.schedulerDlq = new sqs.Queue(this, 'SchedulerDeadLetters', {
      queueName: `mkpf-${stage}-scheduler-dlq`,
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.dataKey,
      enforceSSL: true,
    });
    Validations.of(this.schedulerDlq).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SQS3',
      reason: 'This queue is itself a dead-letter queue: the target of EventBridge Scheduler for job invocations it could not deliver.',
    });

    // --- alarm topic -------------------------------------------------------------------------------

    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      topicName: `mkpf-${stage}-alarms`,
      displayName: `MKPF ${stage} alarms`,
      masterKey: this.alarmsKey,
      enforceSSL: true,
    });
    for (const email of config.alarms.emails) this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(email));
    const alarm = (scope: Construct, id: string, props: cloudwatch.AlarmProps) => {
      const a = new cloudwatch.Alarm(scope, id, { treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING, ...props });
      const action = new SnsAction(this.alarmTopic);
      a.addAlarmAction(action);
      a.addOkAction(action);
      this.alarmNames.push(props.alarmName!);
      return a;
    };
    const fiveMin = Duration.minutes(5);

    // --- API: origin check ---------------------------------------------------------------------------

    const originSecret = new secretsmanager.Secret(this, 'OriginVerifySecret', {
      secretName: `mkpf/${stage}/origin-verify`,
      description: `MKPF ${stage}: value of the ${ORIGIN_VERIFY_HEADER} header CloudFront adds; the API admits only requests that carry it`,
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });
    Validations.of(originSecret).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SMG4',
      reason:
        'Rotated by procedure (docs/operations.md): a new value takes effect in CloudFront only on deploy, so a Lambda rotation would break requests until then; the authorizer accepts the current and the previous value, making the procedure free of refusals.',
    });
    const originLogs = new logs.LogGroup(this, 'OriginVerifyLogs', { logGroupName: `/aws/lambda/mkpf-${stage}-origin-verify`, retention: logRetention, removalPolicy: logRemoval });
    const originRole = new iam.Role(this, 'OriginVerifyRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `MKPF ${stage} origin-verify authorizer: reads the origin secret, writes its log group`,
    });
    originRole.addToPolicy(new iam.PolicyStatement({ sid: 'OwnLogGroup', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [originLogs.logGroupArn] }));
    originRole.addToPolicy(new iam.PolicyStatement({ sid: 'OriginSecret', actions: ['secretsmanager:GetSecretValue'], resources: [originSecret.secretArn] }));
    this.originVerify = new lambda.Function(this, 'OriginVerify', {
      functionName: `mkpf-${stage}-origin-verify`,
      description: `MKPF ${stage}: admits only requests that come through CloudFront`,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(ORIGIN_VERIFY_CODE_DIR),
      memorySize: 256,
      timeout: Duration.seconds(5),
      role: originRole,
      logGroup: originLogs,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: { ORIGIN_SECRET_ARN: originSecret.secretArn },
    });

    this.api = new apigwv2.HttpApi(this, 'Api', {
      apiName: `mkpf-${stage}`,
      description: `MKPF ${stage}: every route of the manifest, one Lambda each; reached through CloudFront`,
      createDefaultStage: false,
    });
    // One authorizer for every route, defined here (the routes live in the function groups).
    const authorizer = new apigwv2.HttpAuthorizer(this, 'OriginVerifyAuthorizer', {
      httpApi: this.api,
      authorizerName: 'origin-verify',
      type: apigwv2.HttpAuthorizerType.LAMBDA,
      identitySource: [`$request.header.${ORIGIN_VERIFY_HEADER}`],
      enableSimpleResponses: true,
      payloadFormatVersion: apigwv2.AuthorizerPayloadVersion.VERSION_2_0,
      authorizerUri: `arn:${Aws.PARTITION}:apigateway:${Aws.REGION}:lambda:path/2015-03-31/functions/${this.originVerify.functionArn}/invocations`,
      resultsCacheTtl: Duration.minutes(5),
    });
    this.originVerify.addPermission('InvokedByApiAuthorizer', {
      principal: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      sourceArn: this.formatArn({ service: 'execute-api', resource: this.api.apiId, resourceName: `authorizers/${authorizer.authorizerId}` }),
    });
    const routeAuthorizer: apigwv2.IHttpRouteAuthorizer = {
      bind: () => ({ authorizerId: authorizer.authorizerId, authorizationType: 'CUSTOM' }),
    };

    // --- functions (in nested stacks, see FUNCTION_GROUPS) -------------------------------------------

    // One asset for every function: the zip of scripts/package (or the placeholder). Its path is
    // the same for all, so it is staged and uploaded once.
    const codePath = code.kind === 'placeholder' ? PLACEHOLDER_CODE_DIR : path.join(code.dir, FUNCTION_ZIP);
    if (code.kind === 'dist') {
      if (!fs.existsSync(codePath)) {
        throw new Error(
          `missing Lambda zip ${codePath} (build it with scripts/package, or synthesize with -c lambdaCode=placeholder for a template that cannot be deployed)`,
        );
      }
      // When a function needs the trust anchors, the zip must carry today's bundle: without it
      // card sign-in answers 503 for everyone; with an old one a rotation would not take effect
      // (e.g. scripts/deploy --skip-package after the bundle changed).
      const needing = allFunctions(manifest).filter((f) => f.needs.includes('trust_anchors'));
      if (needing.length > 0) {
        const bundle = fs.readFileSync(TRUST_ANCHORS_PATH);
        const inZip = readZipEntry(codePath, TRUST_ANCHORS_FILE);
        const wrong = !inZip
          ? `no ${TRUST_ANCHORS_FILE}`
          : inZip.equals(bundle)
            ? undefined
            : `its ${TRUST_ANCHORS_FILE} differs from ${path.relative(INFRA_DIR, TRUST_ANCHORS_PATH)}`;
        if (wrong) {
          throw new Error(
            `Lambda zip without the current JPKI trust anchors (rebuild it with scripts/package):\n  - ${codePath}: ${wrong} (needed by ${needing.map((f) => `${f.kind} ${f.name}`).join(', ')})`,
          );
        }
      }
    }
    // A Code instance per nested stack (an asset construct belongs to one stack), all of the same
    // file: one asset in the cloud assembly, one upload.
    const codeOf = new Map<Stack, lambda.Code>();
    const functionCode = (scope: Construct): lambda.Code => {
      const st = Stack.of(scope);
      let c = codeOf.get(st);
      if (!c) {
        c = lambda.Code.fromAsset(codePath);
        codeOf.set(st, c);
      }
      return c;
    };
    const groupOf = (id: string): NestedStack => {
      const n = functionGroupOf(id);
      let g = this.functionGroups.get(n);
      if (!g) {
        g = new NestedStack(this, `Functions${n}`, {
          description: `MKPF ${stage}: functions of group ${n} of ${FUNCTION_GROUPS} with their roles, log groups, routes, schedules and alarms`,
        });
        this.functionGroups.set(n, g);
      }
      return g;
    };

    for (const spec of allFunctions(manifest)) {
      const scope = new Construct(groupOf(spec.function), spec.function);
      const name = functionName(stage, spec.function);
      const sizing = sizingOf(spec, manifest.queues);
      const logGroup = new logs.LogGroup(scope, 'Logs', { logGroupName: `/aws/lambda/${name}`, retention: logRetention, removalPolicy: logRemoval });
      const role = new iam.Role(scope, 'Role', {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: `MKPF ${stage} ${spec.kind} ${spec.name}: only the resources the manifest declares`,
      });
      role.addToPolicy(new iam.PolicyStatement({ sid: 'OwnLogGroup', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }));

      const environment: Record<string, string> = {
        MKPF_BACKEND: 'aws',
        MKPF_TABLE_PREFIX: tablePrefix(stage),
        MKPF_QUEUE_PREFIX: queuePrefix(stage),
        MKPF_LOG: 'info',
      };
      for (const k of manifest.signingKeys) {
        if (spec.signsWith.includes(k.name) || spec.verifiesWith.includes(k.name)) environment[k.env] = this.signingKeys.get(k.name)!.keyArn;
      }
      // Deployment inputs (manifest `needs`). The trust anchors are a file in the functions' zip
      // (scripts/package); the CRL URLs come from the stage file, and are left unset when it
      // lists none (the crl-fetch job then has nothing to do; CRLs are imported by hand).
      if (spec.needs.includes('trust_anchors')) environment[TRUST_ANCHORS_ENV] = `${LAMBDA_TASK_ROOT}/${TRUST_ANCHORS_FILE}`;
      if (spec.needs.includes('crl_urls') && config.cardAuth.crlUrls.length > 0) environment[CRL_URLS_ENV] = config.cardAuth.crlUrls.join(' ');
      if (spec.needs.includes('data_key')) environment[DATA_KEY_ENV] = this.secretsKey!.keyArn;
      if (spec.needs.includes('staff_data_key')) environment[STAFF_DATA_KEY_ENV] = this.secretsKey!.keyArn;

      const fn = new lambda.Function(scope, 'Function', {
        functionName: name,
        description: `MKPF ${stage} ${spec.kind} ${spec.name}`,
        runtime: lambda.Runtime.PROVIDED_AL2023,
        architecture: lambda.Architecture.ARM_64,
        // The one binary serves the route, consumer or job named by its Handler (`_HANDLER`).
        handler: spec.function,
        code: functionCode(scope),
        memorySize: sizing.memoryMb,
        timeout: Duration.seconds(sizing.timeoutSecs),
        reservedConcurrentExecutions: reservedConcurrencyOf(spec, manifest.queues),
        role,
        logGroup,
        loggingFormat: lambda.LoggingFormat.JSON,
        tracing: lambda.Tracing.ACTIVE,
        environment,
      });
      this.grantDeclared(spec, role);
      Validations.of(role).acknowledge({
        id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
        reason:
          spec.kind === 'route' && spec.name === HEALTH_ROUTE
            ? 'X-Ray PutTraceSegments/PutTelemetryRecords and the health check (dynamodb:ListTables, sqs:ListQueues) have no resource-level permissions; everything else is on named resources.'
            : 'X-Ray PutTraceSegments/PutTelemetryRecords (added by active tracing) have no resource-level permissions; everything else is on named resources.',
      });
      this.functions.set(spec.function, { spec, fn, role, logGroup });

      if (spec.kind === 'route') this.addRoute(scope, spec as RouteSpec, fn, routeAuthorizer, alarm);
      if (spec.kind === 'consumer') {
        // SQS event source mapping: the queue's batch size and concurrency, partial batch failures.
        const c = spec as ConsumerSpec;
        const q = manifest.queues.find((x) => x.name === c.queue)!;
        fn.addEventSource(
          new SqsEventSource(this.queues.get(c.queue)!.queue, {
            batchSize: q.batchSize,
            // More than 10 messages per batch needs a batching window.
            maxBatchingWindow: q.batchSize > 10 ? Duration.seconds(1) : undefined,
            maxConcurrency: q.maxConcurrency,
            reportBatchItemFailures: true,
          }),
        );
      }
      if (spec.kind === 'job') {
        fn.configureAsyncInvoke({ retryAttempts: 2, maxEventAge: Duration.hours(6) });
        this.addSchedule(scope, spec as JobSpec, fn);
      }

      // Errors and throttles of every function.
      alarm(scope, 'ErrorsAlarm', {
        alarmName: `mkpf-${stage}-fn-${spec.function}-errors`,
        alarmDescription: `Lambda ${spec.function}: invocations failed (crash, timeout or an error returned). See docs/operations.md#alarms-and-what-to-do.`,
        metric: fn.metricErrors({ period: fiveMin, statistic: 'Sum' }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      });
      alarm(scope, 'ThrottlesAlarm', {
        alarmName: `mkpf-${stage}-fn-${spec.function}-throttles`,
        alarmDescription: `Lambda ${spec.function}: invocations throttled (reserved or account concurrency reached). See docs/operations.md#alarms-and-what-to-do.`,
        metric: fn.metricThrottles({ period: fiveMin, statistic: 'Sum' }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      });
    }

    // --- API stage ------------------------------------------------------------------------------------

    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', { logGroupName: `/mkpf/${stage}/api-access`, retention: logRetention, removalPolicy: logRemoval });
    this.apiStage = new apigwv2.HttpStage(this, 'ApiStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: config.api.routeThrottle.ratePerSec, burstLimit: config.api.routeThrottle.burst },
      detailedMetricsEnabled: true,
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        // Route keys, never paths or query strings: no identifiers or personal data in logs.
        format: apigw.AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            requestTime: '$context.requestTimeEpoch',
            sourceIp: '$context.identity.sourceIp',
            routeKey: '$context.routeKey',
            status: '$context.status',
            protocol: '$context.protocol',
            responseLength: '$context.responseLength',
            responseLatency: '$context.responseLatency',
            integrationLatency: '$context.integrationLatency',
            integrationStatus: '$context.integrationStatus',
            integrationError: '$context.integrationErrorMessage',
            authorizerError: '$context.authorizer.error',
          }),
        ),
      },
    });
    // Per-route limits (conventions.ts routeThrottleOf): staff sign-in (signs staff tokens) gets
    // a small one (api.credentials_route_throttle), which caps brute force and the
    // password-hashing load; citizen card sign-in (signs citizen tokens) gets its own large one
    // (api.card_sign_in_throttle: the hot path at the platform's peak); the other public
    // (citizen-facing, anonymous) routes get api.public_route_throttle; every other route has the
    // stage default (api.route_throttle). Each route's bucket is its own, so a flood on one route
    // never uses up another's.
    // A route named in the stage file's api.route_throttles gets that limit instead (e.g. the
    // citizens' applications, sized for their peak; docs/operations.md "Mynapoint").
    const cfnStage = this.apiStage.node.defaultChild as apigwv2.CfnStage;
    const throttles = { credentials: config.api.credentialsRouteThrottle, card_sign_in: config.api.cardSignInThrottle, public: config.api.publicRouteThrottle };
    const own = config.api.routeThrottles;
    for (const name of Object.keys(own)) {
      if (!manifest.routes.some((r) => r.name === name)) {
        Annotations.of(this).addWarningV2('mkpf:unknown-route-throttle', `stages/${stage}.json api.route_throttles names route ${JSON.stringify(name)}, which the manifest lacks; ignored`);
      }
    }
    const limited = manifest.routes.filter((r) => own[r.name] !== undefined || routeThrottleOf(r) !== 'default');
    if (limited.length > 0) {
      cfnStage.routeSettings = Object.fromEntries(
        limited.map((r) => {
          const t = own[r.name] ?? throttles[routeThrottleOf(r) as keyof typeof throttles];
          return [
            `${r.method} ${r.path}`,
            { ThrottlingRateLimit: t.ratePerSec, ThrottlingBurstLimit: t.burst, DetailedMetricsEnabled: true },
          ];
        }),
      );
    }
    // Route settings name routes by key, and autoDeploy must see every route: the stage comes
    // after the function groups.
    for (const g of this.functionGroups.values()) cfnStage.addResourceDependency(g.nestedStackResource as CfnResource);

    // --- CloudFront + WAF ---------------------------------------------------------------------------

    const cdnLogs = new s3.Bucket(this, 'CdnLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      // CloudFront standard logs are delivered with an ACL.
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(config.logRetentionDays) }],
      removalPolicy: config.retainLogsOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    Validations.of(cdnLogs).acknowledge({
      id: 'AwsSolutions::AwsSolutions-S1',
      reason:
        "This bucket holds the CloudFront access logs and the web site bucket's server access logs; logging the log bucket to itself would loop, and it has no other readers than operators.",
    });
    // The API's paths go to the API, as before the web site came: the same origin and settings.
    // Everything else is the web site's (web-site.ts). No distribution-wide custom error
    // responses: they would rewrite the API's own 403/404 problem+json answers.
    this.apiPathPatterns = apiPathPatterns(manifest.routes);
    if (this.apiPathPatterns.length + 2 > MAX_CACHE_BEHAVIORS) {
      throw new Error(
        `the API needs ${this.apiPathPatterns.length} CloudFront behaviours (${this.apiPathPatterns.join(', ')}), the web site 2: more than CloudFront's ${MAX_CACHE_BEHAVIORS} per distribution`,
      );
    }
    this.site = new WebSite(this, 'Site', {
      stage,
      content: props.site ?? { kind: 'placeholder' },
      accessLogsBucket: cdnLogs,
      logRetention,
      logRemoval,
      apiPatterns: this.apiPathPatterns,
    });
    if (this.site.content.kind === 'placeholder' && code.kind === 'dist') {
      Annotations.of(this).addWarningV2('mkpf:placeholder-site', 'the web site is the placeholder pages (-c webSite=placeholder): deploying this template replaces the site with them');
    }
    const apiBehavior: cloudfront.BehaviorOptions = {
      origin: new origins.HttpOrigin(`${this.api.apiId}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}`, {
        originId: 'api',
        protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
        originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
        customHeaders: { [ORIGIN_VERIFY_HEADER]: originSecret.secretValue.unsafeUnwrap() },
        readTimeout: Duration.seconds(30),
      }),
      allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
      // Nothing is cached: every answer is per caller. With caching disabled this managed
      // policy forwards every viewer header (Authorization, Idempotency-Key, If-Match) and
      // query string, but not Host (API Gateway needs its own), plus CloudFront's own headers:
      // CloudFront-Viewer-Address is the caller's address, which the platform uses once the
      // origin-verify authorizer has passed the request (API Gateway's sourceIp is the edge).
      // No response headers policy: the API sets its own security headers.
      cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
      originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
      compress: true,
    };
    this.distribution = new cloudfront.Distribution(this, 'Cdn', {
      comment: `MKPF ${stage}: web site and API`,
      defaultBehavior: this.site.pagesBehavior(),
      additionalBehaviors: {
        ...Object.fromEntries(this.apiPathPatterns.map((p) => [p, apiBehavior])),
        [SITE_ASSETS_PATTERN]: this.site.assetsBehavior(),
      },
      defaultRootObject: 'index.html',
      priceClass: cloudfront.PriceClass.PRICE_CLASS_200, // includes Japan
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      enableLogging: true,
      logBucket: cdnLogs,
      logFilePrefix: 'cloudfront/',
      webAclId: props.webAclArn,
    });
    Validations.of(this.distribution).acknowledge(
      {
        id: 'AwsSolutions::AwsSolutions-CFR1',
        reason: 'No geo restriction: card holders may use the platform from abroad (My Number cards stay valid for residents overseas); abuse is handled by the WAF rate limits.',
      },
      {
        id: 'Annotation::@aws-cdk/aws-cloudfront-origins:listBucketSecurityRisk',
        reason:
          "The site's S3 origin may list the bucket only so that a missing object answers 404 rather than 403; no request reaches the bucket root: the distribution has a default root object and the pages' request function appends index.html to every URI ending in /.",
      },
      {
        id: 'AwsSolutions::AwsSolutions-CFR4',
        reason:
          'The distribution uses the default *.cloudfront.net certificate, for which CloudFront cannot enforce TLSv1.2 for viewers; a custom domain with an ACM certificate (account-specific, docs/operations.md) allows TLSv1.2_2021. The origin leg is TLS 1.2 only.',
      },
    );

    this.site.deploy(this.distribution);

    // --- alarms of the shared resources; dashboard ---------------------------------------------------
    // (Route and function alarms are made next to their function, in its group.)

    const alarmsScope = new Construct(this, 'Alarms');
    for (const { key, fn } of [{ key: 'origin-verify', fn: this.originVerify }]) {
      alarm(alarmsScope, `fn-${key}-errors`, {
        alarmName: `mkpf-${stage}-fn-${key}-errors`,
        alarmDescription: `Lambda ${key}: the API authorizer failed; every API request fails while it does. See docs/operations.md#alarms-and-what-to-do.`,
        metric: fn.metricErrors({ period: fiveMin, statistic: 'Sum' }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      });
      alarm(alarmsScope, `fn-${key}-throttles`, {
        alarmName: `mkpf-${stage}-fn-${key}-throttles`,
        alarmDescription: `Lambda ${key}: invocations throttled (account concurrency reached). See docs/operations.md#alarms-and-what-to-do.`,
        metric: fn.metricThrottles({ period: fiveMin, statistic: 'Sum' }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      });
    }

    // Per queue: anything in the dead-letter queue; the oldest message waiting too long.
    const dlqAlarm = (key: string, dlq: sqs.Queue, what: string) =>
      alarm(alarmsScope, `queue-${key}-dlq`, {
        alarmName: `mkpf-${stage}-queue-${key}-dlq-not-empty`,
        alarmDescription: `${what}: messages in the dead-letter queue. Inspect with mkpf-admin dlq peek, fix, redrive (docs/operations.md#alarms-and-what-to-do).`,
        metric: dlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
      });
    for (const q of manifest.queues) {
      const { queue, dlq } = this.queues.get(q.name)!;
      dlqAlarm(q.name, dlq, `Queue ${q.name}`);
      const age = Math.min(config.alarms.queueOldestMessageSecs, Math.floor(q.retentionSecs / 2));
      alarm(alarmsScope, `queue-${q.name}-age`, {
        alarmName: `mkpf-${stage}-queue-${q.name}-oldest-message`,
        alarmDescription: `Queue ${q.name}: the oldest message has waited more than ${age} s (retention ${q.retentionSecs} s). See docs/operations.md#alarms-and-what-to-do.`,
        metric: queue.metricApproximateAgeOfOldestMessage({ period: fiveMin, statistic: 'Maximum' }),
        threshold: age,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
      });
    }
    dlqAlarm('scheduler', this.schedulerDlq, 'EventBridge Scheduler');

    // Platform counters of which one increment needs an operator (manifest metric_alarms; the
    // functions emit them as EMF log lines, no dimensions).
    for (const a of manifest.metricAlarms) {
      alarm(alarmsScope, `metric-${a.name}`, {
        alarmName: `mkpf-${stage}-metric-${a.name}`,
        alarmDescription: `${a.description || a.metric} (${manifest.metricsNamespace}/${a.metric} >= ${a.threshold} in 5 minutes). See docs/operations.md#alarms-and-what-to-do.`,
        metric: new cloudwatch.Metric({ namespace: manifest.metricsNamespace, metricName: a.metric, statistic: 'Sum', period: fiveMin }),
        threshold: a.threshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      });
    }

    // Per table: throttled requests (table and each index) and system errors.
    const ddbMetric = (metricName: string, dims: Record<string, string>) =>
      new cloudwatch.Metric({ namespace: 'AWS/DynamoDB', metricName, dimensionsMap: dims, statistic: 'Sum', period: fiveMin });
    for (const t of manifest.tables) {
      const table = this.tables.get(t.name)!;
      const throttleSets: Array<{ key: string; label: string; dims: Record<string, string> }> = [
        { key: t.name, label: `table ${t.name}`, dims: { TableName: table.tableName } },
        ...t.indexes.map((i) => ({ key: `${t.name}-${i.name}`, label: `index ${i.name} of table ${t.name}`, dims: { TableName: table.tableName, GlobalSecondaryIndexName: i.name } })),
      ];
      for (const s of throttleSets) {
        alarm(alarmsScope, `table-${s.key}-throttles`, {
          alarmName: `mkpf-${stage}-table-${s.key}-throttles`,
          alarmDescription: `DynamoDB ${s.label}: read or write requests throttled. See docs/operations.md#alarms-and-what-to-do.`,
          metric: new cloudwatch.MathExpression({
            expression: 'reads + writes',
            usingMetrics: { reads: ddbMetric('ReadThrottleEvents', s.dims), writes: ddbMetric('WriteThrottleEvents', s.dims) },
            period: fiveMin,
            label: `${s.key} throttle events`,
          }),
          threshold: 0,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
        });
      }
      const usingMetrics = Object.fromEntries(TABLE_OPERATIONS.map((op) => [op.toLowerCase(), ddbMetric('SystemErrors', { TableName: table.tableName, Operation: op })]));
      alarm(alarmsScope, `table-${t.name}-system-errors`, {
        alarmName: `mkpf-${stage}-table-${t.name}-system-errors`,
        alarmDescription: `DynamoDB table ${t.name}: requests failed with a DynamoDB-side (HTTP 500) error. See docs/operations.md#alarms-and-what-to-do.`,
        metric: new cloudwatch.MathExpression({ expression: Object.keys(usingMetrics).join(' + '), usingMetrics, period: fiveMin, label: `${t.name} system errors` }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
      });
    }

    this.dashboard = this.buildDashboard(props);

    // --- backups -----------------------------------------------------------------------------------

    const vault = new backup.BackupVault(this, 'BackupVault', {
      backupVaultName: `mkpf-${stage}`,
      encryptionKey: this.dataKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.backupPlan = new backup.BackupPlan(this, 'BackupPlan', { backupPlanName: `mkpf-${stage}`, backupVault: vault });
    this.backupPlan.addRule(
      new backup.BackupPlanRule({
        ruleName: 'daily',
        scheduleExpression: events.Schedule.cron({ minute: '0', hour: '3' }),
        scheduleExpressionTimezone: TimeZone.ASIA_TOKYO,
        startWindow: Duration.hours(1),
        completionWindow: Duration.hours(8),
        deleteAfter: Duration.days(config.backup.dailyRetentionDays),
      }),
    );
    if (config.backup.monthlyRetentionDays > 0) {
      this.backupPlan.addRule(
        new backup.BackupPlanRule({
          ruleName: 'monthly',
          scheduleExpression: events.Schedule.cron({ day: '1', minute: '0', hour: '4' }),
          scheduleExpressionTimezone: TimeZone.ASIA_TOKYO,
          startWindow: Duration.hours(1),
          completionWindow: Duration.hours(8),
          deleteAfter: Duration.days(config.backup.monthlyRetentionDays),
        }),
      );
    }
    const selection = this.backupPlan.addSelection('Tables', {
      backupSelectionName: `mkpf-${stage}-tables`,
      resources: [...this.tables.values()].map((t) => backup.BackupResource.fromDynamoDbTable(t)),
    });
    Validations.of(selection).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]',
      reason: "AWS Backup's own service-role policy is the documented way to let it snapshot the selected tables; the selection limits it to this stage's tables.",
    });

    // --- a placeholder template cannot be deployed -------------------------------------------------

    if (code.kind === 'placeholder') {
      // CloudFormation evaluates rules before it changes anything: this one always fails (the
      // parameter can only be "placeholder").
      const source = new CfnParameter(this, 'LambdaCodeSource', {
        type: 'String',
        default: 'placeholder',
        allowedValues: ['placeholder'],
        description: 'Where the Lambda code of this template comes from (only scripts/deploy templates carry real code)',
      });
      new CfnRule(this, 'PlaceholderCodeIsNotDeployable', {
        assertions: [
          {
            assert: Fn.conditionEquals(source.valueAsString, 'scripts-package'),
            assertDescription: 'This template was synthesized with -c lambdaCode=placeholder (tests): its functions have no real code. Deploy with scripts/deploy.',
          },
        ],
      });
    }

    // --- CloudFormation's resource limit -------------------------------------------------------------
    // Checked at synthesis (not at deploy time, an hour later): each stack, nested ones included.
    for (const st of [this as Stack, ...this.functionGroups.values()]) {
      st.node.addValidation({
        validate: () => {
          const n = st.node.findAll().filter((c) => CfnResource.isCfnResource(c) && Stack.of(c) === st).length;
          return n > MAX_RESOURCES_PER_STACK
            ? [`${st.node.path} has ${n} resources; CloudFormation allows ${MAX_RESOURCES_PER_STACK} per stack. Raise FUNCTION_GROUPS in lib/conventions.ts (a staged migration: functions move between nested stacks).`]
            : [];
        },
      });
    }

    // --- outputs -----------------------------------------------------------------------------------

    new CfnOutput(this, 'ApiUrl', { value: `https://${this.distribution.distributionDomainName}`, description: 'Public URL of the API (CloudFront + WAF)' });
    new CfnOutput(this, 'SiteUrl', { value: `https://${this.distribution.distributionDomainName}/`, description: 'The citizen site (the staff console under /console/)' });
    new CfnOutput(this, 'SiteBucketName', { value: this.site.bucket.bucketName, description: 'The web site bucket (private; CloudFront reads it through Origin Access Control)' });
    new CfnOutput(this, 'SiteContent', { value: this.site.content.kind });
    new CfnOutput(this, 'DistributionId', { value: this.distribution.distributionId });
    new CfnOutput(this, 'HttpApiId', { value: this.api.apiId, description: 'HTTP API behind CloudFront (direct calls are refused)' });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarmTopic.topicArn });
    new CfnOutput(this, 'DashboardName', { value: this.dashboard.dashboardName });
    new CfnOutput(this, 'LambdaCode', { value: code.kind });
  }

  /** The API route of a route function, and its 5xx-rate and p99 alarms. */
  private addRoute(
    scope: Construct,
    r: RouteSpec,
    fn: lambda.Function,
    authorizer: apigwv2.IHttpRouteAuthorizer,
    alarm: (scope: Construct, id: string, props: cloudwatch.AlarmProps) => cloudwatch.Alarm,
  ) {
    const { stage, alarms } = { stage: this.config.stage, alarms: this.config.alarms };
    const route = new apigwv2.HttpRoute(scope, 'Route', {
      httpApi: this.api,
      routeKey: apigwv2.HttpRouteKey.with(r.path, r.method as apigwv2.HttpMethod),
      integration: new HttpLambdaIntegration(`${r.name}-integration`, fn, { payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0 }),
      authorizer,
    });
    this.routes.set(r.name, route);

    // Detailed (per-route) API Gateway metrics.
    const fiveMin = Duration.minutes(5);
    const metric = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/ApiGateway',
        metricName,
        dimensionsMap: { ApiId: this.api.apiId, Stage: '$default', Method: r.method, Resource: r.path },
        statistic,
        period: fiveMin,
      });
    alarm(scope, 'ServerErrorRateAlarm', {
      alarmName: `mkpf-${stage}-route-${r.name}-5xx-rate`,
      alarmDescription: `${r.method} ${r.path}: more than ${alarms.route5xxPercent}% of requests answered 5xx over 5 minutes (with at least ${alarms.routeMinRequests} requests). See docs/operations.md#alarms-and-what-to-do.`,
      metric: new cloudwatch.MathExpression({
        expression: `IF(requests >= ${alarms.routeMinRequests}, 100 * errors / requests, 0)`,
        usingMetrics: { errors: metric('5xx', 'Sum'), requests: metric('Count', 'Sum') },
        period: fiveMin,
        label: `${r.name} 5xx %`,
      }),
      threshold: alarms.route5xxPercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });
    alarm(scope, 'LatencyAlarm', {
      alarmName: `mkpf-${stage}-route-${r.name}-p99-latency`,
      alarmDescription: `${r.method} ${r.path}: p99 latency above ${alarms.routeP99LatencyMs} ms in 2 of 3 five-minute periods. See docs/operations.md#alarms-and-what-to-do.`,
      metric: metric('Latency', 'p99'),
      threshold: alarms.routeP99LatencyMs,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
    });
  }

  /** The EventBridge Scheduler schedule of a job, in the manifest's time zone. */
  private addSchedule(scope: Construct, j: JobSpec, fn: lambda.Function) {
    const stage = this.config.stage;
    // One role per schedule: it may invoke this job's function and nothing else.
    const role = new iam.Role(scope, 'ScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } } }),
      description: `MKPF ${stage}: EventBridge Scheduler invokes job ${j.name}`,
    });
    // The target grants sqs:SendMessage on the dead-letter queue; the queue is encrypted with
    // the data key, which SQS uses on the sender's behalf.
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'DeadLettersDataKeyViaSQS',
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [this.dataKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `sqs.${Aws.REGION}.amazonaws.com` } },
      }),
    );
    Validations.of(role).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${Stack.of(fn).getLogicalId(fn.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
      reason: "CDK's grantInvoke for the scheduler target names the job function and its qualified ARNs (function:*): versions and aliases of this one function only.",
    });
    const schedule = new scheduler.Schedule(scope, 'Schedule', {
      scheduleName: `mkpf-${stage}-${j.name}`,
      description: `MKPF ${stage} job ${j.name}`,
      schedule: scheduler.ScheduleExpression.expression(j.scheduleExpression, TimeZone.of(this.manifest.scheduleTimezone)),
      target: new schedulerTargets.LambdaInvoke(fn, { role, retryAttempts: 3, maxEventAge: Duration.hours(1), deadLetterQueue: this.schedulerDlq }),
    });
    this.schedules.set(j.name, schedule);
  }

  /** Least privilege from the manifest: only the tables, queues and keys the function declares. */
  private grantDeclared(spec: FunctionSpec, role: iam.Role) {
    const tables = this.manifest.tables;
    const viaService = (service: string) => ({ StringEquals: { 'kms:ViaService': `${service}.${Aws.REGION}.amazonaws.com` } });
    let writesTables = false;
    for (const use of spec.tables) {
      const table = this.tables.get(use.name)!;
      const def = tables.find((t) => t.name === use.name)!;
      const write = use.access !== 'read';
      writesTables ||= write;
      const actions =
        use.access === 'read_write'
          ? [...TABLE_READ_ACTIONS, ...TABLE_WRITE_ACTIONS]
          : use.access === 'append'
            ? [...TABLE_READ_ACTIONS, ...TABLE_APPEND_ACTIONS]
            : TABLE_READ_ACTIONS;
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: `Table${pascal(use.name)}${use.access === 'read_write' ? 'ReadWrite' : use.access === 'append' ? 'Append' : 'Read'}`,
          actions,
          resources: [table.tableArn, ...def.indexes.map((i) => `${table.tableArn}/index/${i.name}`)],
        }),
      );
    }
    if (spec.tables.length > 0) {
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'DataKeyViaDynamoDB',
          actions: writesTables
            ? ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:ReEncryptFrom', 'kms:ReEncryptTo']
            : ['kms:Decrypt', 'kms:DescribeKey'],
          resources: [this.dataKey.keyArn],
          conditions: viaService('dynamodb'),
        }),
      );
    }
    if (spec.sendsTo.length > 0) {
      role.addToPolicy(
        new iam.PolicyStatement({ sid: 'SendToQueues', actions: QUEUE_SEND_ACTIONS, resources: spec.sendsTo.map((q) => this.queues.get(q)!.queue.queueArn) }),
      );
      role.addToPolicy(
        new iam.PolicyStatement({ sid: 'DataKeyViaSQS', actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [this.dataKey.keyArn], conditions: viaService('sqs') }),
      );
    }
    if (spec.inspectsQueues.length > 0) {
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'InspectQueues',
          actions: QUEUE_INSPECT_ACTIONS,
          resources: spec.inspectsQueues.flatMap((q) => [this.queues.get(q)!.queue.queueArn, this.queues.get(q)!.dlq.queueArn]),
        }),
      );
    }
    const signs = spec.signsWith;
    const verifiesOnly = spec.verifiesWith.filter((k) => !signs.includes(k));
    if (signs.length > 0) {
      role.addToPolicy(new iam.PolicyStatement({ sid: 'SignWithKeys', actions: SIGN_ACTIONS, resources: signs.map((k) => this.signingKeys.get(k)!.keyArn) }));
    }
    if (verifiesOnly.length > 0) {
      role.addToPolicy(new iam.PolicyStatement({ sid: 'VerifyWithKeys', actions: VERIFY_ACTIONS, resources: verifiesOnly.map((k) => this.signingKeys.get(k)!.keyArn) }));
    }
    if (spec.needs.includes('data_key')) {
      // Envelope sealing: new data keys and opening them, only with the sealer's context.
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'SealWithSecretsKey',
          actions: SEALING_ACTIONS,
          resources: [this.secretsKey!.keyArn],
          conditions: { StringEquals: Object.fromEntries(Object.entries(SEALING_ENCRYPTION_CONTEXT).map(([k, v]) => [`kms:EncryptionContext:${k}`, v])) },
        }),
      );
    }
    if (spec.needs.includes('staff_data_key')) {
      // Staff TOTP seeds: the same key, only under the staff-only context.
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'SealStaffSeedsWithSecretsKey',
          actions: SEALING_ACTIONS,
          resources: [this.secretsKey!.keyArn],
          conditions: { StringEquals: Object.fromEntries(Object.entries(STAFF_SEALING_ENCRYPTION_CONTEXT).map(([k, v]) => [`kms:EncryptionContext:${k}`, v])) },
        }),
      );
    }
    if (spec.kind === 'route' && spec.name === HEALTH_ROUTE) {
      role.addToPolicy(new iam.PolicyStatement({ sid: 'HealthCheckReachability', actions: HEALTH_ACTIONS, resources: ['*'] }));
    }
  }

  private buildDashboard(props: PlatformStackProps): cloudwatch.Dashboard {
    const { manifest, config } = props;
    const stage = config.stage;
    const period = Duration.minutes(5);
    const d = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: `mkpf-${stage}`, defaultInterval: Duration.hours(12) });
    const apiMetric = (metricName: string, statistic: string, dims: Record<string, string>, label?: string) =>
      new cloudwatch.Metric({ namespace: 'AWS/ApiGateway', metricName, statistic, period, dimensionsMap: { ApiId: this.api.apiId, Stage: '$default', ...dims }, label });
    const wide = 12;

    d.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# MKPF ${stage}\nAlarms go to SNS topic \`mkpf-${stage}-alarms\`; what to do for each: docs/operations.md#alarms.`,
        width: 24,
        height: 2,
      }),
    );
    // Alarms by ARN (most live in the function groups); a status widget shows at most 100.
    const alarmRefs = this.alarmNames.map((name, i) =>
      cloudwatch.Alarm.fromAlarmArn(this, `DashboardAlarm${i}`, this.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: name, arnFormat: ArnFormat.COLON_RESOURCE_NAME })),
    );
    for (let i = 0; i < alarmRefs.length; i += 100) {
      d.addWidgets(new cloudwatch.AlarmStatusWidget({ title: `Alarms (${i + 1}-${Math.min(i + 100, alarmRefs.length)} of ${alarmRefs.length})`, alarms: alarmRefs.slice(i, i + 100), width: 24, height: 6 }));
    }
    d.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'API requests and errors',
        width: wide,
        left: [apiMetric('Count', 'Sum', {}, 'requests')],
        right: [apiMetric('4xx', 'Sum', {}, '4xx'), apiMetric('5xx', 'Sum', {}, '5xx')],
      }),
      new cloudwatch.GraphWidget({
        title: 'API p99 latency by route (ms)',
        width: wide,
        left: manifest.routes.map((r) => apiMetric('Latency', 'p99', { Method: r.method, Resource: r.path }, r.name)),
      }),
    );
    d.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'API 5xx by route',
        width: wide,
        left: manifest.routes.map((r) => apiMetric('5xx', 'Sum', { Method: r.method, Resource: r.path }, r.name)),
      }),
      new cloudwatch.GraphWidget({
        title: 'WAF (us-east-1): allowed and blocked',
        width: wide,
        left: ['AllowedRequests', 'BlockedRequests'].map(
          (m) => new cloudwatch.Metric({ namespace: 'AWS/WAFV2', metricName: m, statistic: 'Sum', period, region: 'us-east-1', dimensionsMap: { WebACL: `mkpf-${stage}-api`, Rule: 'ALL' } }),
        ),
      }),
    );
    // Functions by name (they live in the function groups).
    const ids = allFunctions(manifest).map((f) => f.function);
    const fnMetric = (metricName: string, statistic: string, id: string) =>
      new cloudwatch.Metric({ namespace: 'AWS/Lambda', metricName, statistic, period, dimensionsMap: { FunctionName: functionName(stage, id) }, label: id });
    d.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Lambda errors', width: 8, left: ids.map((b) => fnMetric('Errors', 'Sum', b)) }),
      new cloudwatch.GraphWidget({ title: 'Lambda throttles', width: 8, left: ids.map((b) => fnMetric('Throttles', 'Sum', b)) }),
      new cloudwatch.GraphWidget({ title: 'Lambda p99 duration (ms)', width: 8, left: ids.map((b) => fnMetric('Duration', 'p99', b)) }),
    );
    const queues = [...this.queues.entries()];
    d.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Queue depth', width: 8, left: queues.map(([n, q]) => q.queue.metricApproximateNumberOfMessagesVisible({ period, label: n })) }),
      new cloudwatch.GraphWidget({ title: 'Oldest message age (s)', width: 8, left: queues.map(([n, q]) => q.queue.metricApproximateAgeOfOldestMessage({ period, label: n })) }),
      new cloudwatch.GraphWidget({
        title: 'Dead letters',
        width: 8,
        left: [
          ...queues.map(([n, q]) => q.dlq.metricApproximateNumberOfMessagesVisible({ period, label: `${n} DLQ` })),
          this.schedulerDlq.metricApproximateNumberOfMessagesVisible({ period, label: 'scheduler DLQ' }),
        ],
      }),
    );
    const tables = [...this.tables.entries()];
    d.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'DynamoDB consumed capacity',
        width: wide,
        left: tables.map(([n, t]) => t.metricConsumedReadCapacityUnits({ period, label: `${n} read` })),
        right: tables.map(([n, t]) => t.metricConsumedWriteCapacityUnits({ period, label: `${n} write` })),
      }),
      new cloudwatch.GraphWidget({
        title: 'DynamoDB throttle events',
        width: wide,
        left: tables.flatMap(([n, t]) => [
          new cloudwatch.Metric({ namespace: 'AWS/DynamoDB', metricName: 'ReadThrottleEvents', statistic: 'Sum', period, dimensionsMap: { TableName: t.tableName }, label: `${n} read` }),
          new cloudwatch.Metric({ namespace: 'AWS/DynamoDB', metricName: 'WriteThrottleEvents', statistic: 'Sum', period, dimensionsMap: { TableName: t.tableName }, label: `${n} write` }),
        ]),
      }),
    );
    d.addWidgets(
      new cloudwatch.GraphWidget({
        title: `Platform metrics (EMF, namespace ${manifest.metricsNamespace})`,
        width: 24,
        left: [
          new cloudwatch.MathExpression({
            expression: `SEARCH('{${manifest.metricsNamespace}} MetricName="http_requests"', 'Sum', 300)`,
            label: 'http_requests',
            period,
          }),
        ],
      }),
    );
    return d;
  }
}

function pascal(s: string): string {
  return s
    .split(/[-_]/)
    .filter(Boolean)
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join('');
}

