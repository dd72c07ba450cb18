"""Reference values for tests/unit/tracking/stats-reference.test.ts, computed independently of the
TypeScript code with numpy/scipy (Debian python3-scipy 1.17). Run: python3 stats_reference.py

- mSPRT: the likelihood ratio by numerical integration of the normal likelihood over the N(0, tau^2)
  mixture (scipy.integrate.quad), not the closed form; the confidence-sequence half-width by
  root-finding Lambda(theta0) = 1/alpha (scipy.optimize.brentq).
- delta method: numpy covariance matrix (ddof=0) and the gradient of y/m, not the residual form.
- SRM: scipy.stats.chisquare.
- Holm: written out from Holm (1979) step by step.
- quantile: numpy.quantile (method='linear', type 7).
"""
import numpy as np
from scipy import integrate, optimize, stats

def mixture_lr(est, var, tau2, theta0=0.0):
    # Lambda = int N(est; theta, var) N(theta; theta0, tau2) dtheta / N(est; theta0, var)
    # evaluated as a ratio of densities inside the integral so nothing underflows
    sd, tau = np.sqrt(var), np.sqrt(tau2)
    base = stats.norm.logpdf(est, theta0, sd)
    f = lambda t: np.exp(stats.norm.logpdf(est, t, sd) - base) * stats.norm.pdf(t, theta0, tau)
    lo, hi = theta0 - 40 * tau, theta0 + 40 * tau
    num, _ = integrate.quad(f, lo, hi, points=sorted({min(max(est, lo), hi), theta0}), limit=500,
                            epsabs=0, epsrel=1e-12)
    return num

def half_width(est, var, tau2, alpha):
    f = lambda t0: np.log(mixture_lr(est, var, tau2, t0)) - np.log(1 / alpha)
    upper = optimize.brentq(f, est, est + 30 * np.sqrt(var), xtol=1e-15)
    return upper - est

print('# msprt')
for est, var, tau2, alpha in [(0.021, 4e-5, 1e-4, 0.05), (0.003, 2.5e-5, 1e-4, 0.05), (-0.0123, 1.1e-5, 2.5e-5, 0.0125)]:
    lr = mixture_lr(est, var, tau2)
    print(f'est={est} var={var} tau2={tau2}: log_lambda={np.log(lr):.12f} p={min(1, 1/lr):.12f} '
          f'half_width(alpha={alpha})={half_width(est, var, tau2, alpha):.12f}')

print('# delta method')
units = np.array([(3, 4), (0, 1), (7, 10), (2, 2), (5, 9), (1, 3), (12, 15), (0, 2)], dtype=float)
y, m = units[:, 0], units[:, 1]
k = len(units)
cov = np.cov(np.vstack([y, m]), ddof=0)
my, mm = y.mean(), m.mean()
grad = np.array([1 / mm, -my / mm ** 2])
print(f'ratio={y.sum() / m.sum():.12f} var={grad @ cov @ grad / k:.12e}')

print('# srm')
for obs, w in [([10400, 9600], [50, 50]), ([1040, 960], [50, 50]), ([9400, 560, 40], [90, 5, 5])]:
    exp = np.array(w) / sum(w) * sum(obs)
    r = stats.chisquare(obs, exp)
    print(f'obs={obs} weights={w}: chi2={r.statistic:.12f} p={r.pvalue:.12e}')

print('# srm over weight periods (expected = sum over periods of its assignments x its weights)')
for periods in [[([4000, 1000], [80, 20]), ([2600, 2400], [50, 50])],
                [([9000, 500, 500], [90, 5, 5]), ([4000, 3000, 3000], [40, 30, 30])]]:
    obs = np.sum([o for o, _ in periods], axis=0)
    exp = np.sum([np.array(w) / sum(w) * sum(o) for o, w in periods], axis=0)
    r = stats.chisquare(obs, exp)
    print(f'periods={periods}: observed={list(obs)} expected={list(exp)} chi2={r.statistic:.12f} p={r.pvalue:.12e}')

print('# holm')
ps = [0.01, 0.04, 0.03, 0.005, 0.2]
order = np.argsort(ps)
m_ = len(ps)
adj = [0.0] * m_
running = 0.0
for rank, i in enumerate(order):
    running = max(running, min(1.0, (m_ - rank) * ps[i]))
    adj[i] = running
print('holm', ps, '->', [round(a, 12) for a in adj])

print('# quantile')
xs = [12.5, 3.1, 7.7, 9.0, 15.2, 4.4, 8.8, 30.0, 6.1, 10.9]
print(f'q95={np.quantile(xs, 0.95):.12f} q50={np.quantile(xs, 0.5):.12f}')
print(f'z80={stats.norm.ppf(0.8):.12f} z975={stats.norm.ppf(0.975):.12f}')

print('# sequence (running minimum and running intersection)')
looks = [(0.01, 1e-4), (0.026, 5e-5), (0.012, 2.5e-5)]
p, lo, hi = 1.0, -np.inf, np.inf
for est, var in looks:
    p = min(p, 1 / mixture_lr(est, var, 1e-4))
    h = half_width(est, var, 1e-4, 0.05)
    lo, hi = max(lo, est - h), min(hi, est + h)
    print(f'look est={est} var={var}: p={min(p, 1):.12f} ci=[{lo:.12f}, {hi:.12f}]')

print('# sample size (smallest integer N above the root of the power criterion, 80% power, alpha 0.05, tau2 = 1e-4, detect 0.01)')
z = stats.norm.ppf(0.8)
def needed(nc, vc, nt, vt, detect, tau2, alpha):
    # brentq on the continuous criterion, then the integer above it
    def g(more):
        v = vc * nc / (nc + more) + vt * nt / (nt + more)
        return detect - z * np.sqrt(v) - half_width(0.0, v, tau2, alpha)
    if g(0) >= 0:
        return 0
    root = optimize.brentq(g, 0, 1e9, xtol=1e-6)
    return int(np.ceil(root))
print('needed', needed(1000, 0.9 * 0.1 / 1000, 1000, 0.905 * 0.095 / 1000, 0.01, 1e-4, 0.05))
