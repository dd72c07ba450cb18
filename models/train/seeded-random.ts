/** Seeded randomness moved to common/ (training and the rollout bandit both draw from it); this path
 * stays for the code that imports it from here. */
export { seededRandom } from '../../common/seeded-random';
