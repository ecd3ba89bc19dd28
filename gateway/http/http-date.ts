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
  // Written back in its own form, the date must be the text again: Date.parse rolls 31 Feb over to March and reads year 0049 as 2049.
  return !Number.isNaN(ms) && written(new Date(ms), form) === text ? ms : undefined;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const LONG_DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function written(date: Date, form: number): string {
  const two = (n: number) => String(n).padStart(2, '0');
  const time = `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())}`;
  const month = MONTHS[date.getUTCMonth()];
  const day = date.getUTCDate();
  if (form === 0) return `${DAYS[date.getUTCDay()]}, ${two(day)} ${month} ${String(date.getUTCFullYear()).padStart(4, '0')} ${time} GMT`;
  if (form === 1) return `${LONG_DAYS[date.getUTCDay()]}, ${two(day)}-${month}-${two(date.getUTCFullYear() % 100)} ${time} GMT`;
  return `${DAYS[date.getUTCDay()]} ${month} ${String(day).padStart(2, ' ')} ${time} ${date.getUTCFullYear()}`;
}
