import { type ConfigProblem, type Env, EnvReader } from './env-reader.js';

/**
 * What `consentcast migrate` needs, and nothing else: the schema owner's URL. Migrations run before
 * providers are set up, and they are the only thing that connects as the owner — no role reads
 * DATABASE_OWNER_URL (docker-compose.yml passes it to the migrate service alone). Without it the
 * owner is DATABASE_URL, for an installation with a single role (which `ready` refuses to call
 * ready: the application would then own the consent evidence it must not rewrite).
 */
export function loadDatabaseConfig(
  env: Env,
): { ok: true; ownerUrl: string } | { ok: false; problems: readonly ConfigProblem[] } {
  const r = new EnvReader(env);
  const protocols = ['postgres:', 'postgresql:'];
  const owner =
    r.raw('DATABASE_OWNER_URL') !== undefined
      ? r.url('DATABASE_OWNER_URL', protocols, { required: true })
      : r.url('DATABASE_URL', protocols, { required: false });
  if (r.problems.length > 0) return { ok: false, problems: r.problems };
  if (owner === undefined) {
    return {
      ok: false,
      problems: [
        {
          key: 'DATABASE_OWNER_URL',
          message: 'missing; expected the postgres:// URL of the schema owner (or DATABASE_URL)',
        },
      ],
    };
  }
  return { ok: true, ownerUrl: owner.toString() };
}
