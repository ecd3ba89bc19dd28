import { ESI_ARG_PREFIX, type EsiVariableName } from '../contract/esi-variable-names';
import type { RequestGeo, RequestReadings } from './request-readings';

/**
 * The ESI variables (ESI 1.0 §5 and the Akamai extensions), read from the
 * request. A value is only ever text: where it lands decides how it is
 * encoded (see markup/esi-interpolate.ts and markup/landing-escape.ts), so no value can add markup, a URL part or a
 * header.
 */

/** The variables that read the URL the visitor asked for, not the visitor. */
const URL_PARTS: ReadonlySet<string> = new Set<EsiVariableName>(['HTTP_HOST', 'QUERY_STRING', 'ESI_ARGS']);

/** Values longer than this are cut: a variable is a short value, never a way to make the page grow. */
const MAX_VALUE = 4096;

export class EsiVariables {
  /** The page's one reading of its cookies and `request.cf` (the gateway's `VisitorRequest`). */
  private readonly readings: RequestReadings;

  constructor(
    /** The page's readings of its request: the gateway's VisitorRequest. */
    readings: RequestReadings,
    /** The page URL without the gateway's switches. */
    private readonly url: URL,
    /** The variables this route lets pages read; the others are empty. */
    private readonly allowed: ReadonlySet<EsiVariableName>,
  ) {
    this.readings = readings;
  }

  /** `$(NAME)` or `$(NAME{key})`; undefined when the request has no such value. */
  get(name: string, key?: string): string | undefined {
    if (!this.allowed.has(name as EsiVariableName)) return undefined;
    this.readings.noteUnkeyedRead(URL_PARTS.has(name) ? 'url' : 'visitor');
    const value = this.read(name as EsiVariableName, key);
    return value === undefined ? undefined : value.slice(0, MAX_VALUE);
  }

  private read(name: EsiVariableName, key: string | undefined): string | undefined {
    const readings = this.readings;
    switch (name) {
      case 'HTTP_COOKIE':
        return key === undefined ? readings.cookieHeader() : readings.cookies().get(key);
      case 'HTTP_HOST':
        return this.url.host;
      case 'HTTP_REFERER':
        return readings.header('referer');
      case 'HTTP_USER_AGENT':
        return userAgent(readings.header('user-agent') ?? '', key);
      case 'HTTP_ACCEPT_LANGUAGE':
        return acceptLanguage(readings.header('accept-language') ?? '', key);
      case 'QUERY_STRING':
        if (key === undefined) return this.url.search.slice(1) || undefined;
        return this.url.searchParams.get(key) ?? undefined;
      case 'ESI_ARGS':
        return esiArgs(this.url, key);
      case 'GEO':
        return geo(readings.geo(), key);
    }
  }
}

/** ESI 1.0's sub-keys: browser (MOZILLA, MSIE, OTHER), os (WIN, MAC, UNIX, OTHER), version. */
function userAgent(agent: string, key: string | undefined): string | undefined {
  if (key === undefined) return agent || undefined;
  switch (key) {
    case 'browser':
      return /MSIE|Trident/.test(agent) ? 'MSIE' : /Mozilla/.test(agent) ? 'MOZILLA' : 'OTHER';
    case 'os':
      return /Windows/.test(agent) ? 'WIN' : /Mac/.test(agent) ? 'MAC' : /X11|Linux|BSD|Unix/.test(agent) ? 'UNIX' : 'OTHER';
    case 'version':
      return /(?:MSIE |rv:|Mozilla\/)(\d+(?:\.\d+)?)/.exec(agent)?.[1];
    default:
      return undefined;
  }
}

/** `$(HTTP_ACCEPT_LANGUAGE{en})`: "true" when the visitor accepts that language (or a variant of it). */
function acceptLanguage(header: string, key: string | undefined): string | undefined {
  if (key === undefined) return header || undefined;
  const wanted = key.toLowerCase();
  const accepted = header.split(',').map((part) => part.split(';')[0].trim().toLowerCase());
  return String(accepted.some((lang) => lang === wanted || lang.startsWith(`${wanted}-`)));
}

const GEO_FIELDS: Record<string, string> = {
  country_code: 'country',
  region_code: 'regionCode',
  city: 'city',
  continent: 'continent',
  postal_code: 'postalCode',
  lat: 'latitude',
  long: 'longitude',
};

function geo(cf: RequestGeo | undefined, key: string | undefined): string | undefined {
  const field = GEO_FIELDS[key ?? 'country_code'];
  const value = field ? cf?.[field] : undefined;
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}

/** `$(ESI_ARGS{name})`: the `esi_name` query argument; `$(ESI_ARGS)`: all of them, as a query string. */
function esiArgs(url: URL, key: string | undefined): string | undefined {
  if (key !== undefined) return url.searchParams.get(`${ESI_ARG_PREFIX}${key}`) ?? undefined;
  const args = new URLSearchParams([...url.searchParams].filter(([name]) => name.startsWith(ESI_ARG_PREFIX)));
  return args.size ? args.toString() : undefined;
}
