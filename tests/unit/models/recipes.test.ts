import { EXTRA_RECIPES, findRecipe, RECIPES } from '../../../models/train/recipes';

describe('findRecipe', () => {
  it('defaults to the shipped version’s recipe, else to the model’s new one', () => {
    expect(findRecipe({ model: 'digits', version: '2' }).name).toBe('cnn');
    expect(findRecipe({ model: 'digits', version: '3' }).name).toBe('cnn-wide');
    expect(findRecipe({ model: 'penguins', version: '7' }).name).toBe('mlp-wide');
    expect(findRecipe({ model: 'digits', name: 'mlp', version: '3' }).version).toBe('1');
  });

  it('names the choices when the recipe or model is unknown', () => {
    expect(() => findRecipe({ model: 'digits', name: 'nope' })).toThrow(
      'no recipe "nope" for digits; recipes: mlp, cnn, cnn-wide',
    );
    expect(() => findRecipe({ model: 'iris' })).toThrow(
      'no recipes for model "iris"; models: penguins, digits',
    );
  });

  it('gives every model a recipe whose architecture no shipped version uses', () => {
    for (const model of ['digits', 'penguins']) {
      const shipped = new Set(RECIPES.filter((r) => r.model === model).map((r) => r.architecture));
      const extra = EXTRA_RECIPES.filter((r) => r.model === model);
      expect(extra.length).toBeGreaterThan(0);
      for (const r of extra) expect(shipped.has(r.architecture)).toBe(false);
    }
    const names = [...RECIPES, ...EXTRA_RECIPES].map((r) => `${r.model}/${r.name}`);
    expect(new Set(names).size).toBe(names.length);
  });
});
