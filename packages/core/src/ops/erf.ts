const TWO_OVER_SQRT_PI = 1.1283791670955126;

/**
 * The error function to about 1e-15: a Taylor series below |x| = 3 and a continued fraction for
 * erfc above. JavaScript has no Math.erf, and exact GELU needs one.
 */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax >= 6) return Math.sign(x);
  if (ax < 3) {
    const x2 = x * x;
    let term = x;
    let sum = x;
    for (let n = 1; n < 80; n++) {
      term *= -x2 / n;
      const next = term / (2 * n + 1);
      sum += next;
      if (Math.abs(next) < 1e-17 * Math.abs(sum)) break;
    }
    return TWO_OVER_SQRT_PI * sum;
  }
  let fraction = ax;
  for (let n = 60; n >= 1; n--) fraction = ax + n / 2 / fraction;
  const erfc = Math.exp(-ax * ax) / (Math.sqrt(Math.PI) * fraction);
  return Math.sign(x) * (1 - erfc);
}
