// jstat ships no type declarations; this names only the part the statistics use.
declare module 'jstat' {
  export const jStat: {
    normal: {
      cdf(x: number, mean: number, sd: number): number;
      inv(p: number, mean: number, sd: number): number;
    };
    chisquare: {
      cdf(x: number, dof: number): number;
    };
  };
}
