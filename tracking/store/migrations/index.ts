/** Every migration, in order. Names sort as they must run; later work ADDS files here and never
 * edits one that has been applied (the migrator refuses a changed history). */
import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect';
import * as evidence from './0001-evidence';
import * as predictionCounts from './0002-prediction-counts';
import * as experiments from './0003-experiments';
import * as features from './0004-features';
import * as dropUnusedReportIndex from './0005-drop-unused-report-index';

export interface StoreMigration {
  up(db: Kysely<unknown>, dialect: Dialect): Promise<void>;
}

export const migrations: Record<string, StoreMigration> = {
  '0001-evidence': evidence,
  '0002-prediction-counts': predictionCounts,
  '0003-experiments': experiments,
  '0004-features': features,
  '0005-drop-unused-report-index': dropUnusedReportIndex,
};
