import type { CompiledRoute } from '../contract/types';
import { patternParams } from './compile';

/** A route pattern that workerd would refuse or read ambiguously, by its index among the route's patterns. */
export interface PatternProblem {
  index: number;
  message: string;
}

/**
 * URLPattern syntax, checked with the same algorithm workerd runs (the caller
 * provides URLPattern: workerd natively, Node through its polyfill), and one
 * name per parameter.
 */
export function patternProblems(route: CompiledRoute): PatternProblem[] {
  const problems: PatternProblem[] = [];
  route.patterns.forEach((pattern, index) => {
    try {
      new URLPattern({ pathname: pattern });
    } catch (error) {
      problems.push({ index, message: `expected a URLPattern pathname, got "${pattern}" (${(error as Error).message})` });
    }
    const params = patternParams(pattern);
    if (new Set(params).size !== params.length) problems.push({ index, message: `expected distinct parameter names, got "${pattern}"` });
  });
  return problems;
}
