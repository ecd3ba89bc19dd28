/**
 * The part of `http-link-header` (RFC 8288 Link header parser) the gateway
 * uses. Its DefinitelyTyped types pull in Node's, which Worker code must not
 * see (tsconfig.json lists only workers-types).
 */
declare module 'http-link-header' {
  namespace LinkHeader {
    interface Reference {
      uri: string;
      rel: string;
      [parameter: string]: string;
    }
  }
  class LinkHeader {
    static parse(value: string): LinkHeader;
    refs: LinkHeader.Reference[];
  }
  export default LinkHeader;
}
