// vitest globalSetup of vitest.postgres.config.ts: one throwaway PostgreSQL cluster for the run;
// each SCIM fixture creates its own database in it (test/support/scim-fixture.ts).
import type { TestProject } from 'vitest/node';
import { startPostgres } from './postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresAdminUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const cluster = await startPostgres();
  project.provide('postgresAdminUrl', cluster.url('postgres'));
  return async () => {
    await cluster.stop();
  };
}
