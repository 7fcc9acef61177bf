#!/usr/bin/env node
// The CDK app. Context:
//   -c stage=staging|production       required; stages/<stage>.json holds its parameters
//   -c lambdaCode=dist|placeholder    dist (default): dist/lambda/mkpf-function.zip from
//                                     scripts/package, the one code asset of every function (each
//                                     picks its entry by its Handler); it must exist. placeholder:
//                                     one dummy asset for every function, for tests and CI; the
//                                     template carries a CloudFormation rule that makes any
//                                     deployment of it fail.
//   -c manifest=<file>                default infra/manifest.json
//   -c lambdaDist=<dir>               default dist/lambda
//   -c webSite=dist|placeholder       the web site's files. dist (the default with lambdaCode=dist):
//                                     the Vite build of web/ (web/dist, `-c webDist=<dir>` to look
//                                     elsewhere), which must hold index.html and console/index.html.
//                                     placeholder (the default with lambdaCode=placeholder): two
//                                     pages saying the site has not been built
//                                     (assets/site-placeholder); deploying them replaces the site.
//   -c webDist=<dir>                  default web/dist
// The account is the one of the AWS profile the CLI runs with; nothing account-specific is
// written in this repository.

import * as path from 'node:path';
import { DIST_DIR, MANIFEST_PATH, WEB_DIST_DIR, addStage, newApp } from '../lib/app';
import { STAGES, isStage } from '../lib/stage-config';

function main() {
  const app = newApp();
  const ctx = (k: string): unknown => app.node.tryGetContext(k);
  const stage = ctx('stage');
  if (!isStage(stage)) {
    throw new Error(`choose a stage with -c stage=<${STAGES.join('|')}> (got ${JSON.stringify(stage)})`);
  }
  const codeKind = ctx('lambdaCode') ?? 'dist';
  if (codeKind !== 'dist' && codeKind !== 'placeholder') {
    throw new Error(`-c lambdaCode must be "dist" or "placeholder" (got ${JSON.stringify(codeKind)})`);
  }
  const siteKind = ctx('webSite') ?? codeKind;
  if (siteKind !== 'dist' && siteKind !== 'placeholder') {
    throw new Error(`-c webSite must be "dist" or "placeholder" (got ${JSON.stringify(siteKind)})`);
  }
  const resolve = (v: unknown, fallback: string) => (typeof v === 'string' && v.length > 0 ? path.resolve(v) : fallback);
  addStage(app, {
    stage,
    manifest: resolve(ctx('manifest'), MANIFEST_PATH),
    code: codeKind === 'dist' ? { kind: 'dist', dir: resolve(ctx('lambdaDist'), DIST_DIR) } : { kind: 'placeholder' },
    site: siteKind === 'dist' ? { kind: 'dist', dir: resolve(ctx('webDist'), WEB_DIST_DIR) } : { kind: 'placeholder' },
  });
  app.synth();
}

try {
  main();
} catch (e) {
  console.error(`mkpf-infra: ${(e as Error).message}`);
  process.exit(1);
}
