/**
 * Lints what can be checked here of the Kubernetes manifests and the Dockerfile: the configurations they carry
 * pass the real config schemas, ports and paths agree between config and manifest, the Azure spool sits on a
 * persistent volume, workload identity is wired, and every container runs restricted.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { parseCollectorConfig } from '../collector/config.ts';
import { parseDetectorsConfig } from '../detectors/config.ts';
import { RULES } from '../detectors/rules/index.ts';
import { parseAzureMonitorSinkConfig } from '../detectors/sinks/azure-monitor-config.ts';

const K8S = new URL('../deploy/k8s/', import.meta.url);

interface Container {
  name: string;
  args: string[];
  ports: { name: string; containerPort: number }[];
  env?: { name: string }[];
  envFrom?: { configMapRef: { name: string } }[];
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
  securityContext: {
    allowPrivilegeEscalation: boolean;
    readOnlyRootFilesystem: boolean;
    capabilities: { drop: string[] };
  };
}

interface Manifest {
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  spec: {
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        serviceAccountName: string;
        securityContext: { runAsNonRoot: boolean; seccompProfile: { type: string } };
        containers: Container[];
        volumes: { name: string; configMap?: { name: string } }[];
      };
    };
    volumeClaimTemplates?: { metadata: { name: string } }[];
  };
}

async function manifests(): Promise<Manifest[]> {
  const kustomization = parseYaml(await readFile(new URL('kustomization.yaml', K8S), 'utf8')) as {
    resources: string[];
  };
  const texts = await Promise.all(kustomization.resources.map((file) => readFile(new URL(file, K8S), 'utf8')));
  return texts.flatMap((text) => parseAllDocuments(text).map((document) => document.toJS() as Manifest));
}

const workload = async (name: string): Promise<Manifest> => {
  const found = (await manifests()).find(
    (manifest) => manifest.metadata.name === name && 'template' in (manifest.spec ?? {}),
  );
  assert.ok(found, name);
  return found;
};

const configOf = async (name: string): Promise<Record<string, unknown>> =>
  parseYaml(await readFile(new URL(`config/${name}`, K8S), 'utf8')) as Record<string, unknown>;

void test('kustomization deploys every manifest in deploy/k8s and generates every config map the pods mount', async () => {
  const kustomization = parseYaml(await readFile(new URL('kustomization.yaml', K8S), 'utf8')) as {
    resources: string[];
    configMapGenerator: { name: string }[];
  };
  const files = (await readdir(K8S)).filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml');
  assert.deepEqual([...kustomization.resources].sort(), files.sort());
  const generated = new Set(kustomization.configMapGenerator.map((generator) => generator.name));
  for (const name of ['mcpwatch-collector', 'mcpwatch-detectors']) {
    const spec = (await workload(name)).spec.template.spec;
    for (const volume of spec.volumes)
      if (volume.configMap) assert.ok(generated.has(volume.configMap.name), volume.configMap.name);
    for (const source of spec.containers[0]!.envFrom ?? []) assert.ok(generated.has(source.configMapRef.name));
  }
});

void test('the collector config passes its schema and listens where the manifest expects, with auth', async () => {
  const config = parseCollectorConfig(await configOf('collector.yaml'));
  const container = (await workload('mcpwatch-collector')).spec.template.spec.containers[0]!;
  assert.equal(container.ports[0]!.containerPort, config.port);
  assert.equal(config.host, '0.0.0.0');
  assert.ok(config.auth?.tokenEnv !== undefined, 'a non-loopback receiver needs auth');
  assert.ok(container.env?.some((variable) => variable.name === config.auth?.tokenEnv));
  assert.deepEqual(container.args, ['collector', '--config', '/etc/mcpwatch/collector.yaml']);
});

void test('the detectors config passes its schema, the Azure spool is on the persistent volume, ops on the probed port', async () => {
  const raw = await configOf('detectors.yaml');
  const sinks = raw.sinks as { type: string }[];
  const azure = sinks.filter((sink) => sink.type === 'azure-monitor').map(parseAzureMonitorSinkConfig);
  assert.equal(azure.length, 1);
  const config = parseDetectorsConfig({ ...raw, sinks: sinks.filter((sink) => sink.type !== 'azure-monitor') }, RULES);
  const detectors = await workload('mcpwatch-detectors');
  const container = detectors.spec.template.spec.containers[0]!;
  assert.equal(container.ports.find((port) => port.name === 'ops')?.containerPort, config.ops.port);
  const claims = new Set(detectors.spec.volumeClaimTemplates?.map((claim) => claim.metadata.name));
  const spoolMount = container.volumeMounts.find((mount) =>
    azure[0]!.spool.directory.startsWith(mount.mountPath + '/'),
  );
  assert.ok(spoolMount && claims.has(spoolMount.name), 'the spool must be on a volumeClaimTemplate, not in the pod');
  assert.equal(detectors.kind, 'StatefulSet');
});

void test('the ops endpoint beyond loopback has a token, and only the monitoring namespace may reach it', async () => {
  const container = (await workload('mcpwatch-detectors')).spec.template.spec.containers[0]!;
  const token = container.env?.find((variable) => variable.name === 'MCPWATCH_OPS_TOKEN') as
    { valueFrom?: { secretKeyRef?: { name: string } } } | undefined;
  assert.equal(token?.valueFrom?.secretKeyRef?.name, 'mcpwatch-ops-auth');
  const policy = (await manifests()).find(
    (manifest) => manifest.kind === 'NetworkPolicy' && manifest.metadata.name === 'mcpwatch-detectors-ingress',
  ) as unknown as { spec: { ingress: { from?: { namespaceSelector?: { matchLabels: Record<string, string> } }[] }[] } };
  for (const rule of policy.spec.ingress) {
    assert.ok(rule.from !== undefined && rule.from.length > 0, 'no ingress rule open to any source');
    for (const peer of rule.from) {
      assert.equal(peer.namespaceSelector?.matchLabels['kubernetes.io/metadata.name'], 'monitoring');
    }
  }
});

void test('the detectors send as their workload identity', async () => {
  const detectors = await workload('mcpwatch-detectors');
  const spec = detectors.spec.template.spec;
  assert.equal(detectors.spec.template.metadata.labels['azure.workload.identity/use'], 'true');
  const account = (await manifests()).find(
    (manifest) => manifest.kind === 'ServiceAccount' && manifest.metadata.name === spec.serviceAccountName,
  );
  assert.match(account?.metadata.annotations?.['azure.workload.identity/client-id'] ?? '', /^[0-9a-f-]{36}$/);
});

void test('every container runs restricted: non-root, no privilege escalation, read-only root, no capabilities', async () => {
  for (const name of ['mcpwatch-collector', 'mcpwatch-detectors']) {
    const spec = (await workload(name)).spec.template.spec;
    assert.equal(spec.securityContext.runAsNonRoot, true, name);
    assert.equal(spec.securityContext.seccompProfile.type, 'RuntimeDefault', name);
    for (const container of spec.containers) {
      assert.equal(container.securityContext.allowPrivilegeEscalation, false, name);
      assert.equal(container.securityContext.readOnlyRootFilesystem, true, name);
      assert.deepEqual(container.securityContext.capabilities.drop, ['ALL'], name);
    }
  }
});

void test('the Dockerfile installs the packed pipeline package with production dependencies and runs the CLI as a non-root user', async () => {
  const dockerfile = await readFile(new URL('../deploy/Dockerfile', import.meta.url), 'utf8');
  const packageJson = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as {
    scripts: Record<string, string>;
    bin: Record<string, string>;
  };
  assert.ok(packageJson.scripts.build, 'package.json has a build script');
  assert.match(dockerfile, /^RUN npm run build$/m);
  assert.match(dockerfile, /^RUN .*npm pack .*--workspace @mcpwatch\/instrumentation && npm pack /m);
  assert.match(dockerfile, /^RUN .*npm install --omit=dev .*\/packages\/\*\.tgz/m);
  assert.match(dockerfile, /^USER node$/m);
  const entrypoint = /^ENTRYPOINT \["node", "([^"]+)"\]$/m.exec(dockerfile)?.[1];
  assert.equal(entrypoint, `node_modules/mcpwatch/${(packageJson.bin.mcpwatch ?? '').replace(/^\.\//, '')}`);
  assert.match(dockerfile, /chown node:node \/var\/lib\/mcpwatch/);
  const k8sArgs = (await workload('mcpwatch-detectors')).spec.template.spec.containers[0]!.args;
  assert.equal(k8sArgs[0], 'detectors');
});
