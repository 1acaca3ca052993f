import { describe, expect, it } from 'vitest';
import { supportTarget } from '../../src/dashboard/ui/support.js';

describe('support route → entity', () => {
  const types = ['customer', 'policy'];
  it('reads #/support/<type>/<id> when the first segment is a declared type', () => {
    expect(supportTarget(['policy', 'p-7'], types)).toEqual({ type: 'policy', id: 'p-7' });
  });
  it('keeps an id with slashes whole', () => {
    expect(supportTarget(['policy', 'a', 'b'], types)).toEqual({ type: 'policy', id: 'a/b' });
  });
  it('reads #/support/<id> as the first declared type, as older links meant', () => {
    expect(supportTarget(['c-1'], types)).toEqual({ type: 'customer', id: 'c-1' });
    expect(supportTarget(['policy'], types)).toEqual({ type: 'customer', id: 'policy' });
  });
  it('a first segment that is no type is part of the id', () => {
    expect(supportTarget(['claim', 'x'], types)).toEqual({ type: 'customer', id: 'claim/x' });
  });
  it('no segments: no id', () => {
    expect(supportTarget([], types)).toEqual({ type: 'customer', id: undefined });
  });
  it('no declared types: the first of two segments is the type, an id alone has none', () => {
    expect(supportTarget(['order', 'o-1'], [])).toEqual({ type: 'order', id: 'o-1' });
    expect(supportTarget(['c-1'], [])).toEqual({ type: undefined, id: 'c-1' });
  });
});
