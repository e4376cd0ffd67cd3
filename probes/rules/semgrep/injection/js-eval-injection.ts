export function apply(rule: string, order: object): unknown {
  // ruleid: js-eval-injection
  return eval(`(${rule})(order)`);
}

export function safe(text: string): number {
  // ok: js-eval-injection
  return Number(text);
}
