/**
 * Keeps docs/errors.md in step with the code table in src/errors.ts: every code has a section
 * whose status and retryable flag match the table, and the page names no code the table does
 * not have, except retired ones (a heading "## TM_X (retired)"; codes are never reused).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { errorCodes, type ErrorCode } from '../../src/errors.js';

interface Section {
  readonly code: string;
  readonly retired: boolean;
  readonly body: string;
}

const page = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

/** Level-2 headings that name a code start a section; it runs to the next level-2 heading. */
function sections(markdown: string): Section[] {
  const found: Section[] = [];
  const parts = markdown.split(/^(?=## )/m);
  for (const part of parts) {
    const heading = /^## (TM_[A-Z0-9_]+)(.*)$/m.exec(part);
    if (!heading || part.indexOf(heading[0]) !== 0) continue;
    found.push({
      code: heading[1]!,
      retired: /\(retired\)/i.test(heading[2]!),
      body: part.slice(heading[0].length),
    });
  }
  return found;
}

const documented = sections(page);
const tableCodes = Object.keys(errorCodes) as ErrorCode[];
const section = (code: string) => documented.find((s) => s.code === code);

describe('docs/errors.md', () => {
  it('documents each code at most once', () => {
    const codes = documented.map((s) => s.code);
    expect(codes.filter((c, i) => codes.indexOf(c) !== i)).toEqual([]);
  });

  it.each(tableCodes)('has a section for %s', (code) => {
    expect(section(code), `add a "## ${code}" section to docs/errors.md`).toBeDefined();
  });

  it.each(tableCodes)('gives %s the HTTP status and retryable flag of the code table', (code) => {
    const body = section(code)?.body ?? '';
    const { status, retryable } = errorCodes[code];
    expect(body).toContain(`HTTP status **${status}**`);
    expect(body).toContain(`retryable **${retryable ? 'yes' : 'no'}**`);
  });

  it.each(tableCodes)('says when %s happens and what to do about it', (code) => {
    const body = section(code)?.body ?? '';
    expect(body).toMatch(/\*\*When it happens\.\*\*\s+\S/);
    expect(body).toMatch(/\*\*What to do\.\*\*\s+\S/);
  });

  it('marks no code of the table as retired', () => {
    expect(documented.filter((s) => s.retired && s.code in errorCodes).map((s) => s.code)).toEqual([]);
  });

  it('has no section for a code missing from the table unless it is marked retired', () => {
    const unknown = documented.filter((s) => !(s.code in errorCodes) && !s.retired).map((s) => s.code);
    expect(unknown, 'add the code to errorCodes in src/errors.ts, or mark it "(retired)"').toEqual([]);
  });

  it('mentions no code anywhere that is neither in the table nor documented as retired', () => {
    const retired = new Set(documented.filter((s) => s.retired).map((s) => s.code));
    const mentioned = new Set(page.match(/\bTM_[A-Z0-9_]*[A-Z0-9]\b/g) ?? []);
    const stray = [...mentioned].filter((code) => !(code in errorCodes) && !retired.has(code));
    expect(stray).toEqual([]);
  });
});

describe('the section parser', () => {
  it('finds codes, retired marks and bodies', () => {
    const parsed = sections(
      [
        '# Error codes',
        'Intro naming TM_A.',
        '## TM_A',
        'a body',
        '## TM_OLD (retired)',
        'old body',
        '## Not a code',
        'text',
      ].join('\n'),
    );
    expect(parsed).toEqual([
      { code: 'TM_A', retired: false, body: '\na body\n' },
      { code: 'TM_OLD', retired: true, body: '\nold body\n' },
    ]);
  });
});
