// Reading a synthesized stack in template tests: resources by type, construct → logical id, the IAM
// statements of a role and the table grants they amount to. Shared by the workflow and rollout tests.
import { Stack, type CfnResource } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { expect } from 'vitest';
import { TABLE_IDS, type TableId } from '../../functions/core/tables.js';
import type { DcpFunction } from '../../infra/function.js';
import type { DeploymentControlPlaneStack } from '../../infra/stack.js';

export type Json = Record<string, any>;

export const asList = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/** `arn:${Partition}:<service>:${Region}:${AccountId}:<rest>` as CloudFormation renders Stack.formatArn. */
export const formattedArn = (service: string, rest: string) => ({
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:${service}:`, { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:${rest}`]],
});

export const withAction = (statements: Json[], prefix: string) =>
  statements.filter((s) => asList<string>(s.Action).some((a) => a.startsWith(prefix)));

export function templateReader(stack: DeploymentControlPlaneStack) {
  const template = Template.fromStack(stack);
  const resources: Record<string, Json> = template.toJSON().Resources;
  const logicalId = (c: IConstruct): string => Stack.of(c).resolve((c.node.defaultChild as CfnResource).logicalId);
  const ofType = (type: string): [string, Json][] => Object.entries(resources).filter(([, r]) => r.Type === type);
  const propsOf = (c: IConstruct): Json => resources[logicalId(c)]!.Properties;
  const arnOf = (fn: DcpFunction) => ({ 'Fn::GetAtt': [logicalId(fn.function), 'Arn'] });
  const refOf = (c: IConstruct) => ({ Ref: logicalId(c) });

  function statementsOf(roleLogicalId: string): Json[] {
    return ofType('AWS::IAM::Policy')
      .filter(([, p]) => (p.Properties.Roles as Json[]).some((r) => r.Ref === roleLogicalId))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Json[]);
  }
  const statementsOfFn = (fn: DcpFunction) => statementsOf(logicalId(fn.role));

  /** Table id → 'read' | 'readWrite' as granted to a role on the tables themselves. */
  function tableGrants(fn: DcpFunction): Partial<Record<TableId, 'read' | 'readWrite'>> {
    const byLogicalId = new Map(TABLE_IDS.map((id) => [logicalId(stack.data.tables[id].table), id]));
    const grants: Partial<Record<TableId, 'read' | 'readWrite'>> = {};
    for (const s of withAction(statementsOfFn(fn), 'dynamodb:')) {
      for (const resource of asList<Json>(s.Resource)) {
        if (resource['Fn::Join']) continue; // a named index, read-only (checked by the template tests)
        const tableId = byLogicalId.get(resource['Fn::GetAtt']?.[0]);
        expect(tableId, JSON.stringify(resource)).toBeDefined();
        grants[tableId!] = asList<string>(s.Action).includes('dynamodb:PutItem') ? 'readWrite' : (grants[tableId!] ?? 'read');
      }
    }
    return grants;
  }

  return { template, resources, logicalId, ofType, propsOf, arnOf, refOf, statementsOf, statementsOfFn, tableGrants };
}
