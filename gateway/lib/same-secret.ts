/**
 * Whether a presented token is the secret. Equal-length digests are compared
 * in constant time, so response timing tells nothing about the secret.
 */
export async function sameSecret(presented: string, secret: string): Promise<boolean> {
  const digest = (text: string) => crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  const [a, b] = await Promise.all([digest(presented), digest(secret)]);
  // A workerd extension of SubtleCrypto; the CLI's Node typings (which also read this file) do not know it.
  const subtle = crypto.subtle as SubtleCrypto & { timingSafeEqual(a: ArrayBuffer, b: ArrayBuffer): boolean };
  return subtle.timingSafeEqual(a, b);
}
