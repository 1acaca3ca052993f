/// <reference lib="dom" />

/** An error answer of the control plane (application/problem+json). */
export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    detail: string,
  ) {
    super(detail);
  }
}

const tokenKey = 'tidemark.token';

export const session = {
  get token(): string | null {
    return sessionStorage.getItem(tokenKey);
  },
  set token(value: string | null) {
    if (value === null) sessionStorage.removeItem(tokenKey);
    else sessionStorage.setItem(tokenKey, value);
  },
};

/** Calls the API with the session's token; throws a ProblemError for any error answer. */
export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const headers: Record<string, string> = { authorization: `Bearer ${session.token ?? ''}` };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method: init.method ?? 'GET',
    headers,
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  if (!res.ok) {
    const problem = (await res.json().catch(() => ({}))) as {
      code?: string;
      title?: string;
      detail?: string;
    };
    throw new ProblemError(
      res.status,
      problem.code ?? 'TM_UNEXPECTED',
      problem.title ?? res.statusText,
      problem.detail ?? '',
    );
  }
  return (await res.json()) as T;
}

export interface Me {
  readonly name: string;
  readonly role: 'viewer' | 'operator';
}
