import type { CompiledRoute, SegmentSource } from '../contract/types';
import type { DebugSettings } from './debug-gate';
import { ExperimentArms } from './experiment-assignment';
import type { KeepAlive, WeightSource } from './experiment-weights';
import { decideSwitches, type GatewaySwitches, NO_SWITCHES } from './gateway-switches';
import { RequestReadings } from './request-readings';
import type { RouteMatch } from './route-match';
import { safeDecode } from './safe-decode';
import { lookupSegment } from './segment';
import { withoutSwitches } from './switches';

/** Where a route finds the visitor's user id, and the SEGMENTS namespace that maps it to a segment. */
export interface SegmentLookup {
  from: SegmentSource;
  store: KVNamespace | undefined;
}

export interface VisitorRequestInit {
  request: Request;
  /** The request URL, parsed once by the gateway. */
  url: URL;
  /** The matched route's parameters, decoded once (route-match.ts). */
  params: Readonly<Record<string, string>>;
  /** Decided by `VisitorRequest.read`; none when left out. */
  switches?: GatewaySwitches;
  /** For a route with `segment:`. */
  segment?: SegmentLookup;
  /** For a route with experiments: its fragments and `assignment:`. */
  experiments?: Pick<CompiledRoute, 'fragments' | 'assignment'>;
}

/**
 * One page request, read once: its URL with and without the gateway's
 * switches, the route's parameters, its cookies (parsed on first use) and
 * geo (`request.cf`, read on first use), the switches (decided once, with one
 * token comparison at most) and the visitor's segment (looked up once, on
 * first use). Everything a page reads from its visitor reads it here: the
 * template variables (request-vars.ts), the ESI variables (esi-variables.ts,
 * handed to PageEsi), fault injection and the segment lookup.
 */
export class VisitorRequest extends RequestReadings {
  /** As the client sent it, switches included: what the origin URL is built from (upstream-url.ts drops them). */
  readonly url: URL;
  /** Without the gateway's switches: what variables read, so the debug token never reaches a fragment host. */
  readonly visitorUrl: URL;
  readonly params: Readonly<Record<string, string>>;
  private decided: GatewaySwitches;
  private readonly segmentLookup?: SegmentLookup;
  private segmentFound?: Promise<string | undefined>;
  private readonly experiments?: Pick<CompiledRoute, 'fragments' | 'assignment'>;
  private armsFound?: Promise<ExperimentArms>;
  private armsDecided?: ExperimentArms;

  constructor(init: VisitorRequestInit) {
    super(init.request);
    this.url = init.url;
    this.visitorUrl = withoutSwitches(init.url);
    this.params = init.params;
    this.decided = init.switches ?? NO_SWITCHES;
    this.segmentLookup = init.segment;
    this.experiments = init.experiments;
  }

  /** A matched page request, with its switches decided (settings: who may use them). */
  static async read(request: Request, url: URL, match: RouteMatch, settings: DebugSettings, segments?: KVNamespace): Promise<VisitorRequest> {
    const segment = match.route.segment && { from: match.route.segment, store: segments };
    const experiments = match.route.assignment ? match.route : undefined;
    const visitor = new VisitorRequest({ request, url, params: match.params, segment, experiments });
    // Decided from the visitor's own readings, so a `tessera-fault` cookie costs no second parse.
    visitor.decided = await decideSwitches(url, visitor, settings);
    return visitor;
  }

  /** The gateway's own switches (debug view, faults, placement preview), as decided for this request. */
  get switches(): GatewaySwitches {
    return this.decided;
  }

  /** A cookie's value, percent-decoded (a value that is not valid percent-encoding as it is). */
  cookie(name: string): string | undefined {
    const raw = this.cookies().get(name);
    return raw === undefined ? undefined : safeDecode(raw);
  }

  /** The visitor's segment, looked up the first time it is asked for; undefined for a route without `segment:` or an unknown visitor. */
  segment(): Promise<string | undefined> {
    this.segmentFound ??= this.findSegment();
    return this.segmentFound;
  }

  /**
   * The page's arm of each experiment on its route, decided the first time it
   * is asked for (before any fragment starts, so all of them render the same
   * arms). `weights` are the experiments' current weights; a read of them
   * that outlives the page is kept alive with `keepAlive`.
   */
  arms(weights: WeightSource, keepAlive: KeepAlive): Promise<ExperimentArms> {
    this.armsFound ??= this.experiments
      ? ExperimentArms.assign({
          route: this.experiments,
          readings: this,
          cookie: (name) => this.cookie(name),
          forced: this.decided.variants,
          weights,
          keepAlive,
          secure: this.url.protocol === 'https:',
        }).then((arms) => (this.armsDecided = arms))
      : Promise.resolve(ExperimentArms.NONE);
    return this.armsFound;
  }

  /** Cookies the page's response must set: a visitor id minted for its experiments. Empty until `arms` has settled. */
  cookiesToSet(): string[] {
    const cookie = this.armsDecided?.cookie;
    return cookie ? [cookie] : [];
  }

  private findSegment(): Promise<string | undefined> {
    if (!this.segmentLookup) return Promise.resolve(undefined);
    const { from, store } = this.segmentLookup;
    const id = from.source === 'cookie' ? this.cookie(from.name) : this.header(from.name);
    return lookupSegment(id, store);
  }
}
