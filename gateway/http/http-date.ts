/**
 * An HTTP-date (RFC 9110 §5.6.7) as milliseconds since the epoch, or
 * `undefined` when the text is not one. Only the three forms HTTP allows:
 * `Date.parse` alone also takes `2099`, `2099-01-01` or a local zone, which
 * HTTP caches read as invalid (and so as already expired).
 */
const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const LONG_DAY = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)';
const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const TIME = '\\d{2}:\\d{2}:\\d{2}';
const FORMS = [
  new RegExp(`^${DAY}, \\d{2} ${MONTH} \\d{4} ${TIME} GMT$`), // IMF-fixdate
  new RegExp(`^${LONG_DAY}, \\d{2}-${MONTH}-\\d{2} ${TIME} GMT$`), // obsolete RFC 850
  new RegExp(`^${DAY} ${MONTH} [ \\d]\\d ${TIME} \\d{4}$`), // obsolete asctime, in UTC
];

export function httpDateMs(text: string): number | undefined {
  const form = FORMS.findIndex((pattern) => pattern.test(text));
  if (form === -1) return undefined;
  const ms = Date.parse(form === 2 ? `${text} GMT` : text);
  return Number.isNaN(ms) ? undefined : ms;
}
