/**
 * Attribute vectors of the latent explorer: the direction from the rest of an encoding's points to
 * a chosen group of them, to add to a latent vector ("more of what the group has").
 */

/**
 * Attribute vector (Larsen et al. 2016, section 4.2): mean of the group's rows minus mean of the
 * other rows of `mu` (row-major [n x d]). Repeated rows count once.
 */
export function attributeVector(mu: ArrayLike<number>, n: number, d: number, rows: readonly number[]): { direction: number[]; norm: number; groupSize: number; restSize: number } {
  const inGroup = new Uint8Array(n);
  for (const r of rows) {
    if (!Number.isInteger(r) || r < 0 || r >= n) throw new RangeError(`row ${r} is outside 0..${n - 1}`);
    inGroup[r] = 1;
  }
  const g = new Float64Array(d);
  const rest = new Float64Array(d);
  let ng = 0;
  for (let r = 0; r < n; r++) {
    const acc = inGroup[r] ? g : rest;
    if (inGroup[r]) ng++;
    for (let j = 0; j < d; j++) acc[j]! += mu[r * d + j]!;
  }
  const nr = n - ng;
  if (nr === 0) throw new RangeError('the group holds every point; an attribute needs points outside it');
  const direction = Array.from({ length: d }, (_, j) => g[j]! / ng - rest[j]! / nr);
  return { direction, norm: Math.hypot(...direction), groupSize: ng, restSize: nr };
}
