// The route table will grow far beyond what one CloudFormation stack holds (500 resources):
// functions live in nested stacks by a stable hash of their id (manifest `function`).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { FUNCTION_GROUPS, MAX_RESOURCES_PER_STACK, functionGroupOf } from '../lib/conventions';
import { allFunctions } from '../lib/manifest';
import { quietly, rawManifest, resourcesOf, synth } from './helpers';

function withRoutes(n: number) {
  const raw = rawManifest();
  for (let i = 0; i < n; i++) {
    raw.routes.push({
      name: `load-${i}`,
      method: 'GET',
      path: `/v1/load/${i}/{id}`,
      function: `load-${i}`,
      access: ['public'],
      public: i % 2 === 0,
      idempotent: false,
      tables: [{ name: 'ops', access: 'read' }],
      sends_to: [],
    });
  }
  return raw;
}

describe('function groups (nested stacks)', () => {
  const s = synth({ nag: false });

  it('each function, with its role, log group, route and alarms, is in the nested stack its id hashes to', () => {
    for (const f of allFunctions(s.manifest)) {
      const { fn, role, logGroup } = s.platform.functions.get(f.function)!;
      const group = s.platform.functionGroups.get(functionGroupOf(f.function))!;
      for (const c of [fn, role, logGroup, ...(f.kind === 'route' ? [s.platform.routes.get(f.name)!] : [])]) {
        assert.equal(Stack.of(c), group, `${f.function}: ${c.node.path}`);
      }
    }
    assert.equal(Object.keys(resourcesOf(s.json, 'AWS::CloudFormation::Stack')).length, s.platform.functionGroups.size);
    assert.ok(s.platform.functionGroups.size <= FUNCTION_GROUPS);
  });

  it('the hash is stable: adding routes moves no existing function', () => {
    const bigger = synth({ manifest: withRoutes(20), nag: false });
    for (const f of allFunctions(s.manifest)) {
      assert.equal(bigger.platform.functions.get(f.function)!.fn.node.path, s.platform.functions.get(f.function)!.fn.node.path);
    }
  });

  it('the API stage is deployed after every group (its route settings name their routes)', () => {
    const stage = Object.values(resourcesOf(s.json, 'AWS::ApiGatewayV2::Stage'))[0];
    const groups = [...s.platform.functionGroups.values()].map((g) => s.platform.getLogicalId(g.nestedStackResource!));
    for (const g of groups) assert.ok((stage.DependsOn ?? []).includes(g), `stage does not depend on ${g}`);
  });

  it(`150 more routes fit, every stack under ${MAX_RESOURCES_PER_STACK} resources`, () => {
    const big = synth({ manifest: withRoutes(150), nag: false });
    for (const g of big.platform.functionGroups.values()) {
      const n = Object.keys(Template.fromStack(g).toJSON().Resources).length;
      assert.ok(n < MAX_RESOURCES_PER_STACK, `${g.node.path}: ${n}`);
    }
  });

  it('too many for the groups stops synthesis with the way out (control)', () => {
    assert.throws(() => quietly(() => synth({ manifest: withRoutes(420), nag: false })), /resources; CloudFormation allows 500 per stack\. Raise FUNCTION_GROUPS/);
  });
});
