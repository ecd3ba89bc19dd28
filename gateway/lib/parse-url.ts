/** `new URL` without the exception: `undefined` for anything that is not a URL. */
export function parseUrl(input: string, base?: string): URL | undefined {
  try {
    return new URL(input, base);
  } catch {
    return undefined;
  }
}
