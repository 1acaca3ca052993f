export { parseTopology, formatTopologyError, TopologyInvalidError } from './parse.js';
export type { TopologyError, TopologyResult } from './parse.js';
export { readTopologyFile, loadTopology } from './file.js';
export { checkTopology } from './check.js';
export type { TopologyIssue, Path } from './issues.js';
export { TopologySchema } from './schema.js';
export { starterTopology } from './starter.js';
export { repairPolicies, stages, strategies, tiers } from './model.js';
export { backboneKinds, type BackboneKind, type BackboneSetting } from './backbone.js';
export type {
  Calendar,
  Condition,
  ConsumerRule,
  Context,
  Decision,
  EntityType,
  Flow,
  ReconciliationSchedule,
  RepairPolicy,
  Requirement,
  Schedule,
  Stage,
  Strategy,
  Tier,
  Topology,
} from './model.js';
export { fieldPolicyOf, receiveFieldsOf, restrictedConsumers } from './field-policy.js';
export type { ParseTopologyOptions } from './parse.js';
