/** Whether a command-line value is an absolute http(s) URL. */
export function isHttpUrl(value: string): boolean {
  return URL.canParse(value) && /^https?:$/.test(new URL(value).protocol);
}

/**
 * Why a command-line value is not an http(s) URL, or undefined when it is:
 * the same words from every command (`127.0.0.1:3000` without a scheme included).
 */
export function httpUrlProblem(flag: string, value: string): string | undefined {
  return isHttpUrl(value) ? undefined : `${flag} must be an absolute URL such as http://127.0.0.1:3000`;
}
