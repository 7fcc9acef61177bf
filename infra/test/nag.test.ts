// cdk-nag's AWS Solutions checks pass on every stage and manifest, with only the written-down
// acknowledgements listed below (each with its reason in lib/platform-stack.ts).

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { addStage, newApp } from '../lib/app';
import { functionGroupOf } from '../lib/conventions';
import type { Manifest } from '../lib/manifest';
import type { PlatformStack } from '../lib/platform-stack';
import { STAGES } from '../lib/stage-config';
import { MANIFESTS, logicalId, quietly, tmpDir } from './helpers';

function build(stage: (typeof STAGES)[number], manifest: Manifest) {
  const outdir = tmpDir('nag');
  const app = newApp({ outdir });
  const built = addStage(app, { stage, manifest, code: { kind: 'placeholder' } });
  return { app, outdir, ...built };
}

/** Rule names reported as violations, from the validation report written on failure. */
function violations(outdir: string): string[] {
  const report = JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'));
  return report.pluginReports.flatMap((p: any) => p.violations.map((v: any) => v.ruleName));
}

/** Every acknowledgement in the app: construct path (below the stack), rule id, reason. */
function acknowledgements(app: ReturnType<typeof newApp>) {
  const out: Array<{ path: string; id: string; reason: string }> = [];
  for (const c of app.node.findAll()) {
    for (const m of c.node.metadata) {
      if (m.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(m.data as Record<string, string>)) {
        out.push({ path: c.node.path.split('/').slice(1).join('/'), id, reason });
      }
    }
  }
  return out;
}

/**
 * The suppressions, written down. Adding one means adding it here too, with the construct it
 * applies to — and its reason next to it in the code.
 */
function expectedAcknowledgements(manifest: Manifest, platform: PlatformStack): string[] {
  const jobFunctionArn = (functionId: string) => `<${logicalId(platform.functions.get(functionId)!.fn)}.Arn>:*`;
  return [
    'SchedulerDeadLetters AwsSolutions-SQS3',
    'OriginVerifySecret AwsSolutions-SMG4',
    'CdnLogs AwsSolutions-S1',
    'Cdn AwsSolutions-CFR1',
    'Cdn AwsSolutions-CFR4',
    // The web site (lib/web-site.ts): CDK's own warning about an S3 origin that may list the
    // bucket, the deployment's writes to the site bucket's objects, CDK's deployment runtime.
    'Cdn Annotation::@aws-cdk/aws-cloudfront-origins:listBucketSecurityRisk',
    `Site/DeploymentRole AwsSolutions-IAM5[Resource::<${logicalId(platform.site.bucket)}.Arn>/*]`,
    'Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C AwsSolutions-L1',
    'BackupPlan/Tables AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]',
    ...[...manifest.routes, ...manifest.consumers, ...manifest.jobs].map((f) => `Functions${functionGroupOf(f.function)}/${f.function}/Role AwsSolutions-IAM5[Resource::*]`),
    ...manifest.jobs.map((j) => `Functions${functionGroupOf(j.function)}/${j.function}/ScheduleRole AwsSolutions-IAM5[Resource::${jobFunctionArn(j.function)}]`),
  ].sort();
}

describe('cdk-nag AWS Solutions', () => {
  for (const stage of STAGES) {
    for (const { label, manifest } of MANIFESTS) {
      it(`${stage} from ${label}: passes`, () => {
        const { app, outdir } = build(stage, manifest);
        try {
          app.synth();
        } catch (e) {
          assert.fail(`${(e as Error).message}\nviolations: ${violations(outdir).join(', ')}`);
        }
      });
    }
  }

  for (const { label, manifest } of MANIFESTS) {
    it(`acknowledgements for ${label} are exactly the written-down ones, each with a reason`, () => {
      const { app, platform } = build('production', manifest);
      const acks = acknowledgements(app);
      for (const a of acks) {
        assert.ok(a.reason.length >= 60, `${a.path} ${a.id}: a reason of a sentence or more`);
        assert.ok(
          a.id.startsWith('Annotation::AwsSolutions::AwsSolutions-') || a.id.startsWith('AwsSolutions::AwsSolutions-') || a.id === 'Annotation::@aws-cdk/aws-cloudfront-origins:listBucketSecurityRisk',
          a.id,
        );
      }
      const got = acks.map((a) => `${a.path} ${a.id.replace(/^(Annotation::)?AwsSolutions::/, '')}`).sort();
      assert.deepEqual(got, expectedAcknowledgements(manifest, platform));
    });
  }

  it('catches what is not acknowledged (control)', () => {
    const { app, outdir, platform } = build('staging', MANIFESTS[0].manifest);
    new sqs.Queue(platform, 'PlainQueue', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    assert.throws(() => quietly(() => app.synth()), /Validation failed/);
    const v = violations(outdir);
    for (const rule of ['AwsSolutions-SQS2', 'AwsSolutions-SQS3', 'AwsSolutions-SQS4']) assert.ok(v.includes(rule), `${rule} in ${v.join(', ')}`);
  });

  it('acknowledgements are narrow: a wildcard action on a function role is still caught (control)', () => {
    const { app, outdir, platform } = build('staging', MANIFESTS[0].manifest);
    const [first] = platform.functions.values();
    first.role.addToPolicy(new iam.PolicyStatement({ actions: ['dynamodb:*'], resources: ['*'] }));
    assert.throws(() => quietly(() => app.synth()), /Validation failed/);
    const v = violations(outdir);
    assert.ok(v.some((r) => r.startsWith('AwsSolutions-IAM5')), v.join(', '));
  });
});
