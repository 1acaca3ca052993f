import { userInfo } from 'node:os';

/** Who runs the CLI, for the audit log when --actor is not given. */
export function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}
