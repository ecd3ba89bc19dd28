/** 64 random bits in base 36 (13 characters): a name or seal no page content can guess. */
export function randomToken(): string {
  return crypto.getRandomValues(new BigUint64Array(1))[0].toString(36).padStart(13, '0');
}
