/** Shared by the feature tests: a shipped penguins row as named features. */

/** Decoded by hand from the eight columns (island one-hot, sex_male). */
export function penguinNamed(row: readonly number[]) {
  return {
    bill_length_mm: row[0],
    bill_depth_mm: row[1],
    flipper_length_mm: row[2],
    body_mass_g: row[3],
    island: ['Biscoe', 'Dream', 'Torgersen'][row.slice(4, 7).indexOf(1)],
    sex: row[7] === 1 ? 'male' : 'female',
  };
}
