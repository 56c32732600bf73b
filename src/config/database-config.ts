import { type ConfigProblem, type Env, EnvReader } from './env-reader.js';

/** The part of the configuration that migrations need: they must run before providers are set up. */
export function loadDatabaseConfig(
  env: Env,
): { ok: true; url: string; ownerUrl: string } | { ok: false; problems: readonly ConfigProblem[] } {
  const r = new EnvReader(env);
  const url = r.url('DATABASE_URL', ['postgres:', 'postgresql:'], { required: true });
  const owner = r.url('DATABASE_OWNER_URL', ['postgres:', 'postgresql:'], { required: false });
  if (r.problems.length > 0 || url === undefined) return { ok: false, problems: r.problems };
  return { ok: true, url: url.toString(), ownerUrl: (owner ?? url).toString() };
}
