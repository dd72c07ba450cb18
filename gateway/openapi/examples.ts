/** Example inputs for /openapi.json and Swagger UI's "Try it out", copied from the shipped held-out
 * sample (models/penguins/sample.json and sample-labels.json, rows 0 and 1; a unit test checks they
 * still match), so every example is a request the shipped model answers. */

export const EXAMPLE_MODEL = 'penguins';
/** bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g, island_Biscoe, island_Dream,
 * island_Torgersen, sex_male. */
export const EXAMPLE_ROWS: readonly (readonly number[])[] = [
  [35.7, 17, 189, 3350, 0, 0, 1, 0],
  [46.4, 18.6, 190, 3450, 0, 1, 0, 0],
];
export const EXAMPLE_LABEL = 'Adelie';
export const EXAMPLE_REQUEST_ID = '42088cff-30cb-4156-8ca0-355a795a7a08';
