/**
 * How a claim-checked event looks on the wire: no `data`, and three CloudEvents extension
 * attributes that say where the payload is and what it must hash to.
 */
import type { Envelope } from '../../envelope/types.js';

/** The claim's id in the claim-check store. */
export const claimAttribute = 'claimcheck';
/** `sha256:<hex>` of the payload's canonical JSON. */
export const claimDigestAttribute = 'claimdigest';
/** Size of the payload's JSON in bytes (UTF-8), for operators. */
export const claimSizeAttribute = 'claimsize';

/** The claim reference an envelope carries, if it is claim-checked. */
export interface ClaimReference {
  readonly claimId: string;
  readonly digest: string | undefined;
  readonly size: number | undefined;
}

export function claimReferenceOf(envelope: Envelope): ClaimReference | undefined {
  const record = envelope as unknown as Record<string, unknown>;
  if (!(claimAttribute in record) && !(claimDigestAttribute in record)) return undefined;
  const claimId = record[claimAttribute];
  const digest = record[claimDigestAttribute];
  const size = record[claimSizeAttribute];
  return {
    claimId: typeof claimId === 'string' ? claimId : '',
    digest: typeof digest === 'string' ? digest : undefined,
    size: typeof size === 'number' ? size : undefined,
  };
}
