// The web site (web/, built by Vite to web/dist/): the citizen site at / and the staff console
// under /console/, served from a private S3 bucket behind the platform's CloudFront distribution
// (the same one as the API, so the site calls the API on its own origin: connect-src 'self').
//
//   bucket      private (every public access blocked, bucket owner enforced), SSE-S3, TLS 1.2+
//               only, versioned, server access logs to the CloudFront log bucket, retained;
//               readable only by this distribution through Origin Access Control (s3:GetObject,
//               and s3:ListBucket so that a missing object answers 404 rather than 403)
//   behaviours  the default (*) = the pages (index.html, console/index.html and every other
//               unhashed file), /assets/* = Vite's content-hashed files; GET and HEAD only,
//               HTTP redirected to HTTPS. The API paths (platform-stack.ts, apiPathPatterns) come
//               before them and are not touched here.
//   requests    a CloudFront Function (cloudfront/site-request.js, viewer request, pages only):
//               "/…/" → "/…/index.html", "/console" → 301 "/console/"; so no request reaches the
//               bucket root (which, with s3:ListBucket, would list the bucket)
//   headers     one response headers policy for both: strict CSP, HSTS, frame and sniffing
//               protection, no referrer, a Permissions-Policy denying powerful features
//   caching     assets: uploaded with `Cache-Control: public, max-age=31536000, immutable`, cached
//               by CloudFront up to a year (Managed-CachingOptimized); pages: uploaded with
//               `Cache-Control: no-cache` (browsers revalidate every time), cached by CloudFront
//               at most 5 minutes and revalidated as the origin asks; deployment invalidates the
//               pages' paths
//   deployment  two BucketDeployments of one asset (the site directory): first /assets/* (never
//               pruned: a tab opened before a deployment can still load the chunks it names),
//               then everything else (pruned), which invalidates the pages; one Lambda
//               (mkpf-<stage>-site-deployment) with a role of its own naming only this bucket,
//               this asset and this distribution
//
// No distribution-wide custom error responses: they would rewrite the API's own 403/404
// problem+json answers too. docs/operations.md "The web site on AWS" says how to deploy a build.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import type { RouteSpec } from './manifest';
import type { StageName } from './stage-config';

const INFRA_DIR = path.resolve(__dirname, '..');

/**
 * Where the site's files come from: one asset either way.
 *  - `dist`: a Vite build (web/dist by default, `-c webDist=<dir>`), deployable; it must hold
 *    every page of SITE_PAGES, or synthesis stops and names what is missing;
 *  - `placeholder`: infra/assets/site-placeholder (tests, CI, a stage deployed before the site
 *    existed): two pages saying the site has not been built.
 */
export type SiteContent = { readonly kind: 'dist'; readonly dir: string } | { readonly kind: 'placeholder' };

export const PLACEHOLDER_SITE_DIR = path.join(INFRA_DIR, 'assets', 'site-placeholder');
const SITE_REQUEST_FUNCTION_FILE = path.join(INFRA_DIR, 'cloudfront', 'site-request.js');

/** The site's entry pages (HTML, not content-hashed), relative to the site directory. */
export const SITE_PAGES = ['index.html', 'console/index.html'] as const;

/** Vite's output directory of content-hashed files (build.assetsDir), as a path pattern. */
export const SITE_ASSETS_PATTERN = '/assets/*';

/**
 * Paths whose cached copies a deployment invalidates: the pages by every URL that serves them
 * (the request function maps "/" and "/console/" to the index pages; "/console" redirects).
 */
export const SITE_INVALIDATION_PATHS = ['/', '/index.html', '/console', '/console/', '/console/index.html'];

/** Content-Security-Policy of every site response: nothing inline, nothing from elsewhere. */
export const SITE_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:", // the QR code the citizen site shows is a data: URL
  "connect-src 'self'", // the API is on the same origin (this distribution)
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Permissions-Policy: powerful features the site never uses, denied to it and to anything it
 * could embed. The citizen site shows a QR code for the card app to read; it reads no camera.
 */
export const SITE_PERMISSIONS_POLICY = [
  'accelerometer',
  'autoplay',
  'bluetooth',
  'camera',
  'display-capture',
  'geolocation',
  'gyroscope',
  'hid',
  'magnetometer',
  'microphone',
  'midi',
  'payment',
  'publickey-credentials-get',
  'screen-wake-lock',
  'serial',
  'usb',
  'xr-spatial-tracking',
]
  .map((f) => `${f}=()`)
  .join(', ');

/** Cache-Control of the content-hashed files: a new build gives changed files new names. */
export const SITE_ASSETS_CACHE_CONTROL = 'public, max-age=31536000, immutable';
/** Cache-Control of everything else (the pages): revalidate every time. */
export const SITE_PAGES_CACHE_CONTROL = 'no-cache';

/** CloudFront's default quota of cache behaviours per distribution. */
export const MAX_CACHE_BEHAVIORS = 25;

/**
 * The CloudFront path patterns of the API, from the manifest's routes: `/<segment>/*` for a route
 * below a first literal segment (every `/v1/…` route: `/v1/*`), `/<segment>` for a one-segment
 * route (`/healthz`, `/openapi.json`). Everything else is the web site's. A route whose first
 * segment is a parameter, or is one of the site's own names, cannot be told from the site.
 */
export function apiPathPatterns(routes: readonly Pick<RouteSpec, 'name' | 'path'>[]): string[] {
  const patterns: string[] = [];
  const problems: string[] = [];
  for (const r of routes) {
    const segments = r.path.split('/').slice(1);
    const first = segments[0] ?? '';
    if (!/^[A-Za-z0-9_.~-]+$/.test(first)) {
      problems.push(`route ${r.name} (${r.path}): its first path segment must be a literal (letters, digits, _ . ~ -) for CloudFront to send it to the API rather than the web site`);
      continue;
    }
    if (SITE_RESERVED_SEGMENTS.includes(first)) {
      problems.push(`route ${r.name} (${r.path}): /${first} belongs to the web site`);
      continue;
    }
    const pattern = segments.length === 1 ? `/${first}` : `/${first}/*`;
    if (!patterns.includes(pattern)) patterns.push(pattern);
  }
  if (problems.length > 0) throw new Error(`the manifest's routes cannot share the distribution with the web site:\n  - ${problems.join('\n  - ')}`);
  return patterns.sort();
}

/** First path segments the site always has (the hashed assets, the console, the root page). */
const SITE_RESERVED_SEGMENTS = ['assets', 'console', 'index.html'];

/** Whether CloudFront's path pattern (only `*` wildcards here) matches a URI path. */
export function pathPatternMatches(pattern: string, uri: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(uri);
}

/** The site directory to deploy; stops synthesis when a dist build lacks a page. */
export function siteDirOf(content: SiteContent): string {
  if (content.kind === 'placeholder') return PLACEHOLDER_SITE_DIR;
  const missing = SITE_PAGES.filter((p) => !fs.statSync(path.join(content.dir, p), { throwIfNoEntry: false })?.isFile());
  if (missing.length > 0) {
    throw new Error(
      `missing web site build in ${content.dir}: no ${missing.join(', ')} (build it: cd web && npm ci && npm run build; or point -c webDist=<dir> at a build, or synthesize with -c webSite=placeholder to deploy the placeholder pages)`,
    );
  }
  return content.dir;
}

export interface WebSiteProps {
  readonly stage: StageName;
  readonly content: SiteContent;
  /** Where the bucket's server access logs go (the CloudFront log bucket), under `site-bucket/`. */
  readonly accessLogsBucket: s3.IBucket;
  readonly logRetention: logs.RetentionDays;
  readonly logRemoval: RemovalPolicy;
  /** API paths (apiPathPatterns): a top-level file or directory of the site they would hide is refused. */
  readonly apiPatterns: readonly string[];
}

export class WebSite extends Construct {
  readonly bucket: s3.Bucket;
  /** The S3 origin (Origin Access Control) of both site behaviours. */
  readonly origin: cloudfront.IOrigin;
  readonly headers: cloudfront.ResponseHeadersPolicy;
  readonly pagesCachePolicy: cloudfront.CachePolicy;
  readonly requestFunction: cloudfront.Function;
  /** The directory deployed (web/dist or the placeholder). */
  readonly dir: string;
  readonly content: SiteContent;
  private readonly props: WebSiteProps;

  constructor(scope: Construct, id: string, props: WebSiteProps) {
    super(scope, id);
    this.props = props;
    const { stage } = props;
    this.content = props.content;
    this.dir = siteDirOf(props.content);
    const hidden = fs
      .readdirSync(this.dir)
      .filter((name) => props.apiPatterns.some((p) => pathPatternMatches(p, `/${name}`) || pathPatternMatches(p, `/${name}/x`)));
    if (hidden.length > 0) {
      throw new Error(`the web site in ${this.dir} has ${hidden.map((n) => `/${n}`).join(', ')}, which the API's paths (${props.apiPatterns.join(', ')}) would hide`);
    }

    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      // Earlier versions of a page stay 30 days: a bad deployment can be looked at and undone.
      versioned: true,
      lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(30), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
      serverAccessLogsBucket: props.accessLogsBucket,
      serverAccessLogsPrefix: 'site-bucket/',
      // Built files, but the distribution's origin: kept if the stack goes.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // READ: s3:GetObject on the objects; LIST: s3:ListBucket, so that S3 answers a missing key
    // with 404 NoSuchKey instead of 403 AccessDenied. Both only for this distribution
    // (AWS:SourceArn); the request function keeps every request off the bucket root.
    this.origin = origins.S3BucketOrigin.withOriginAccessControl(this.bucket, {
      originId: 'site',
      originAccessLevels: [cloudfront.AccessLevel.READ, cloudfront.AccessLevel.LIST],
    });

    this.headers = new cloudfront.ResponseHeadersPolicy(this, 'Headers', {
      responseHeadersPolicyName: `mkpf-${stage}-site-headers`,
      comment: `MKPF ${stage}: security headers of the web site (not the API, which sets its own)`,
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: SITE_CONTENT_SECURITY_POLICY, override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(730), includeSubdomains: true, preload: true, override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        contentTypeOptions: { override: true },
        // Nothing about the page (its path and query) leaves the browser: the site calls only
        // its own origin, whose API authenticates by bearer token and reads neither Referer nor
        // Origin, and its links out need not say where they were followed from.
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
        // "0": the legacy XSS auditor off (it could be abused to remove scripts); the CSP protects.
        xssProtection: { protection: false, override: true },
      },
      customHeadersBehavior: {
        customHeaders: [
          { header: 'Permissions-Policy', value: SITE_PERMISSIONS_POLICY, override: true },
          // A page the site opens (or that opens it) gets no handle on its window.
          { header: 'Cross-Origin-Opener-Policy', value: 'same-origin', override: true },
        ],
      },
    });

    // The pages: revalidated (they carry Cache-Control: no-cache); 5 minutes at most whatever
    // an object says, and 1 minute for one uploaded without Cache-Control.
    this.pagesCachePolicy = new cloudfront.CachePolicy(this, 'PagesCachePolicy', {
      cachePolicyName: `mkpf-${stage}-site-pages`,
      comment: `MKPF ${stage}: web site pages (not content-hashed): revalidated with S3`,
      minTtl: Duration.seconds(0),
      defaultTtl: Duration.minutes(1),
      maxTtl: Duration.minutes(5),
      headerBehavior: cloudfront.CacheHeaderBehavior.none(),
      queryStringBehavior: cloudfront.CacheQueryStringBehavior.none(),
      cookieBehavior: cloudfront.CacheCookieBehavior.none(),
      enableAcceptEncodingGzip: true,
      enableAcceptEncodingBrotli: true,
    });

    this.requestFunction = new cloudfront.Function(this, 'RequestFunction', {
      functionName: `mkpf-${stage}-site-request`,
      comment: `MKPF ${stage}: web site pages: directory URLs to their index.html`,
      runtime: cloudfront.FunctionRuntime.JS_2_0,
      code: cloudfront.FunctionCode.fromFile({ filePath: SITE_REQUEST_FUNCTION_FILE }),
    });
  }

  /** The default behaviour (`*`): the pages and every other unhashed file. */
  pagesBehavior(): cloudfront.BehaviorOptions {
    return {
      origin: this.origin,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
      cachedMethods: cloudfront.CachedMethods.CACHE_GET_HEAD,
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      cachePolicy: this.pagesCachePolicy,
      responseHeadersPolicy: this.headers,
      functionAssociations: [{ function: this.requestFunction, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }],
      compress: true,
    };
  }

  /** `/assets/*`: Vite's content-hashed files, cached as long as they say (a year). */
  assetsBehavior(): cloudfront.BehaviorOptions {
    return {
      origin: this.origin,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
      cachedMethods: cloudfront.CachedMethods.CACHE_GET_HEAD,
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
      responseHeadersPolicy: this.headers,
      compress: true,
    };
  }

  /**
   * Uploads the site: the hashed assets first, then the pages (which name them), then invalidates
   * the pages' paths in `distribution`. Returns the two deployments.
   */
  deploy(distribution: cloudfront.Distribution): { assets: s3deploy.BucketDeployment; pages: s3deploy.BucketDeployment; fn: lambda.Function; role: iam.Role; logGroup: logs.LogGroup } {
    const { stage } = this.props;
    const stack = Stack.of(this);
    const name = `mkpf-${stage}-site-deployment`;
    const content = new s3assets.Asset(this, 'Content', { path: this.dir });
    const logGroup = new logs.LogGroup(this, 'DeploymentLogs', { logGroupName: `/aws/lambda/${name}`, retention: this.props.logRetention, removalPolicy: this.props.logRemoval });

    // The deployment Lambda's role, written out here: CDK's grants for BucketDeployment would add
    // a managed policy and wildcard actions (s3:GetObject*, s3:List*, s3:DeleteObject*, …) and
    // cloudfront:CreateInvalidation on every distribution. The function gets this role frozen
    // (withoutPolicyUpdates), so only what is below applies: `aws s3 cp` of the one asset,
    // `aws s3 sync [--delete]` into the bucket, an invalidation of this distribution and its
    // wait, its own log group.
    const role = new iam.Role(this, 'DeploymentRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `MKPF ${stage}: deploys the web site into its bucket and invalidates its pages in CloudFront`,
    });
    role.addToPolicy(new iam.PolicyStatement({ sid: 'OwnLogGroup', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }));
    role.addToPolicy(new iam.PolicyStatement({ sid: 'ReadSiteAsset', actions: ['s3:GetObject'], resources: [content.bucket.arnForObjects(content.s3ObjectKey)] }));
    role.addToPolicy(new iam.PolicyStatement({ sid: 'ListSiteBucket', actions: ['s3:ListBucket'], resources: [this.bucket.bucketArn] }));
    role.addToPolicy(
      new iam.PolicyStatement({ sid: 'WriteSiteObjects', actions: ['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:PutObject'], resources: [this.bucket.arnForObjects('*')] }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({ sid: 'InvalidateSitePages', actions: ['cloudfront:CreateInvalidation', 'cloudfront:GetInvalidation'], resources: [distribution.distributionArn] }),
    );
    Validations.of(role).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${stack.getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket)}.Arn>/*]`,
      reason:
        'The deployment writes and prunes the built site, whose file names change with every build (content hashes), so it needs PutObject/DeleteObject on the objects of this one bucket, which holds nothing else.',
    });

    const common = {
      sources: [s3deploy.Source.bucket(content.bucket, content.s3ObjectKey)],
      destinationBucket: this.bucket,
      role: role.withoutPolicyUpdates(),
      logGroup,
    } satisfies Partial<s3deploy.BucketDeploymentProps>;
    // Content-hashed files are never pruned: a page loaded before this deployment may still
    // import the chunks it names. (A new build's files have new names; old ones stay, small.)
    const assets = new s3deploy.BucketDeployment(this, 'DeployAssets', {
      ...common,
      exclude: ['*'],
      include: ['assets/*'],
      prune: false,
      cacheControl: [s3deploy.CacheControl.setPublic(), s3deploy.CacheControl.maxAge(Duration.days(365)), s3deploy.CacheControl.immutable()],
    });
    // Everything else, after the assets are in place; files gone from the build are deleted
    // (assets/ is excluded, so untouched); the pages' cached copies invalidated.
    const pages = new s3deploy.BucketDeployment(this, 'DeployPages', {
      ...common,
      exclude: ['assets/*'],
      prune: true,
      cacheControl: [s3deploy.CacheControl.noCache()],
      distribution,
      distributionPaths: SITE_INVALIDATION_PATHS,
    });
    pages.node.addDependency(assets);

    // The one Lambda both deployments share (CDK makes it once per stack), named like the
    // platform's others.
    const fn = stack.node.children.find((c): c is lambda.Function => c instanceof lambda.Function && c.node.id.startsWith('Custom::CDKBucketDeployment'));
    if (!fn) throw new Error('BucketDeployment made no Lambda function at the stack root (CDK changed): name and check it again');
    const cfn = fn.node.defaultChild as lambda.CfnFunction;
    cfn.functionName = name;
    cfn.description = `MKPF ${stage}: deploys the web site (CDK BucketDeployment)`;
    Validations.of(fn).acknowledge({
      id: 'AwsSolutions::AwsSolutions-L1',
      reason:
        "CDK's BucketDeployment handler (Python, with the AWS CLI layer) runs on the runtime aws-cdk-lib tests it with; it moves to a newer one when aws-cdk-lib is upgraded, not by overriding it here.",
    });
    return { assets, pages, fn, role, logGroup };
  }
}
