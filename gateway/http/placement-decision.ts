import { isbot } from 'isbot';
import type { CompiledRoute, PlacementMode } from '../contract/types';
import { inlineScriptAllowance } from '../lib/content-security-policy';

/**
 * Whether this response places out-of-order fragments out of order. Crawlers
 * and visitors who ask to save data (when the route says so) get the page in
 * document order: they may not run the fallback script, and a crawler should
 * index the page as visitors finally see it. So does a page whose CSP lets
 * no inline script of ours run: browsers without native `<template for>`
 * would never see those fragments.
 */
export type PlacementDecision =
  | { kind: 'out-of-order'; nonce: string | undefined }
  | { kind: 'in-order'; why: 'route' | 'preview' | 'bot' | 'save-data' | 'csp' };

/** `preview` is `?tessera-placement=…` (request/placement-preview.ts, decided once in request/gateway-switches.ts), which goes before the route and the client. */
export function placementDecision(route: CompiledRoute, request: Request, pageHeaders: Headers, preview?: PlacementMode): PlacementDecision {
  if (preview === 'in-order') return { kind: 'in-order', why: 'preview' };
  if (preview === undefined) {
    if (!hasOutOfOrder(route)) return { kind: 'in-order', why: 'route' };
    if (route.inOrderFor.includes('save-data') && request.headers.get('save-data')?.trim().toLowerCase() === 'on')
      return { kind: 'in-order', why: 'save-data' };
    if (route.inOrderFor.includes('bots') && isbot(request.headers.get('user-agent'))) return { kind: 'in-order', why: 'bot' };
  }
  const allowance = inlineScriptAllowance(pageHeaders.get('content-security-policy'));
  if (allowance.kind === 'refused') return { kind: 'in-order', why: 'csp' };
  return { kind: 'out-of-order', nonce: allowance.kind === 'nonce' ? allowance.nonce : undefined };
}

export function hasOutOfOrder(route: CompiledRoute): boolean {
  return (
    route.placement === 'out-of-order' ||
    Object.values(route.fragments).some((f) => f.placement === 'out-of-order' || f.experiment?.variants.some((v) => v.fields.placement === 'out-of-order'))
  );
}

/** The request headers (lower case) an out-of-order route's pages vary on, for caches downstream. */
export function placementVary(route: CompiledRoute): string[] {
  if (!hasOutOfOrder(route)) return [];
  return route.inOrderFor.map((client) => (client === 'bots' ? 'user-agent' : 'save-data'));
}
