/**
 * The layering of mcpwatch, written down so that a wrong-way import fails `npm run lint`:
 *
 *   contracts → observer → instrumentation, proxy
 *   contracts → transport → collector, detectors (sinks inside) → local-dashboard → cli, demo
 *   contracts → dashboards → deploy
 *
 * Imports point down only; nothing outside test/ and bench/ imports test support; no cycles. Two arrows cross
 * rows: proxy → detectors/rules/lib (the pattern library its --enforce shares) and deploy → transport (the
 * broker recipe's request queue).
 */
const OURS =
  '^(contracts|observer|instrumentation|proxy|transport|collector|detectors|dashboards|deploy|local-dashboard|demo|cli|test|bench)/';

const layer = (name, mayImport) => ({
  name: `${name}-imports-only-below`,
  comment: `${name}/ may import only ${mayImport.join(', ') || 'nothing of ours'} (and itself).`,
  severity: 'error',
  from: { path: `^${name}/`, pathNot: '\\.test\\.ts$' },
  to: { path: OURS, pathNot: [`^${name}/`, ...mayImport.map((below) => `^${below}/`)] },
});

module.exports = {
  forbidden: [
    layer('contracts', []),
    layer('observer', ['contracts']),
    layer('instrumentation', ['contracts', 'observer']),
    layer('transport', ['contracts']),
    layer('collector', ['contracts', 'transport']),
    layer('detectors', ['contracts', 'transport']),
    layer('proxy', ['contracts', 'observer', 'transport', 'detectors/rules/lib']),
    layer('dashboards', ['contracts']),
    layer('deploy', ['contracts', 'dashboards', 'transport']),
    layer('local-dashboard', ['contracts', 'transport', 'collector', 'detectors']),
    layer('demo', ['contracts', 'transport', 'collector', 'detectors', 'local-dashboard', 'cli']),
    {
      name: 'no-test-support-in-production',
      comment:
        'Test support, fixtures and contract suites live under test/ and are imported only by tests and benchmarks.',
      severity: 'error',
      from: { pathNot: ['^test/', '^bench/', '\\.test\\.ts$'] },
      to: { path: '^test/' },
    },
    {
      name: 'no-cycles',
      comment: 'Two modules that import each other are one module, or a missing layer.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules|\\.kafka)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { conditionNames: ['mcpwatch-source', 'import', 'default'] },
  },
};
