import { X509Certificate } from 'node:crypto';
import { CredentialExpiryJob } from '../../src/credentials/credential-expiry.job';
import type { Credential } from '../../src/credentials/domain/credential';
import { subjectOfCertificate, subjectOfCsr } from '../../src/credentials/x509/x509';
import { Receiver } from '../support/receiver';
import { admin, eventually } from '../support/sim-client';
import { bearer } from '../support/test-app';
import type { ProviderWorld } from '../support/provider-world';
import { startProviderWorld } from '../support/provider-world';

const DAY_MS = 86_400_000;

/**
 * The credential autopilot against the simulators: the hourly job, run as if 340 days had passed,
 * finds the Verestro certificate and the ConnectPay chain in their last 30 days; it prepares the
 * Verestro successor (new key, CSR with the same subject) and announces both renewals once, to a
 * real receiver; the CSR, signed by the simulator and imported, puts the successor in service.
 */
describe('credential renewal (autopilot)', () => {
  let world: ProviderWorld;
  let receiver: Receiver;

  beforeAll(async () => {
    world = await startProviderWorld({ EVENTS_ALLOWED_DESTINATIONS: '127.0.0.0/8' });
    receiver = new Receiver();
    const url = await receiver.start();
    const subscribed = await world.t.http
      .post('/v1/event-subscriptions')
      .set(bearer(world.t.adminKey))
      .send({ url: `${url}/events`, events: ['credential.renewal_due'] });
    expect(subscribed.status).toBe(201);
  });
  afterAll(async () => {
    await receiver.stop();
    await world.close();
  });

  const inService = async (provider: 'verestro' | 'connectpay'): Promise<Credential> =>
    (await world.vault.list({ provider, environment: 'simulator', kind: 'mtls_client_certificate' })).find(
      (credential) => credential.status === 'active' || credential.status === 'expiring',
    )!;

  it('prepares the Verestro successor under the same subject, announces each renewal once, and the signed CSR takes over', async () => {
    const verestro = await inService('verestro');
    const connectpay = await inService('connectpay');
    const job = world.t.app.get(CredentialExpiryJob);
    await job.run(new Date(Date.now() + 340 * DAY_MS));
    await job.run(new Date(Date.now() + 341 * DAY_MS)); // again: nothing new

    const successors = (await world.vault.list({ provider: 'verestro', environment: 'simulator' })).filter(
      (credential) => credential.attributes.renews === verestro.id,
    );
    expect(successors).toHaveLength(1);
    const [successor] = successors;
    expect(successor).toMatchObject({ status: 'pending', kind: 'mtls_client_certificate', keyAlgorithm: 'RSA-2048' });
    expect(subjectOfCsr(successor.csrPem!)).toEqual(
      subjectOfCertificate(new X509Certificate(verestro.certificatePem!)),
    );
    expect(successor.publicKeyPem).not.toBe(verestro.publicKeyPem);

    const announced = await eventually(
      async () =>
        receiver.received.map((request) => JSON.parse(request.body) as { type: string; data: Record<string, string> }),
      (events) => events.length >= 2,
      10_000,
    );
    expect(announced).toHaveLength(2);
    const byCredential = new Map(announced.map((event) => [event.data.credentialId, event]));
    const verestroEvent = byCredential.get(verestro.id)!;
    expect(verestroEvent).toMatchObject({
      type: 'credential.renewal_due',
      data: {
        provider: 'verestro',
        environment: 'simulator',
        kind: 'mtls_client_certificate',
        successorId: successor.id,
        commonName: 'V-SBX-Democompany-Payouts',
        csrPem: successor.csrPem,
      },
    });
    expect(verestroEvent.data.action).toContain(`POST /v1/credentials/${successor.id}/certificate`);
    expect(JSON.stringify(announced)).not.toContain('PRIVATE KEY');
    expect(byCredential.get(connectpay.id)).toMatchObject({
      data: { provider: 'connectpay', action: expect.stringContaining('register it in ConnectPay DevApp') },
    });
    expect(byCredential.get(connectpay.id)!.data).not.toHaveProperty('successorId');

    // What the operator does with it: Verestro signs the CSR; importing it puts the successor in service.
    const signed = (
      await admin<{ certificatePem: string; caPem: string }>(world.sims, 'POST', '/verestro/csr', {
        csrPem: successor.csrPem,
        environment: 'sandbox',
      })
    ).body;
    const imported = await world.t.http
      .post(`/v1/credentials/${successor.id}/certificate`)
      .set(bearer(world.t.adminKey))
      .send(signed);
    expect(imported.status).toBe(200);
    expect(imported.body).toMatchObject({ id: successor.id, status: 'active', replacesId: verestro.id });
    expect((await inService('verestro')).id).toBe(successor.id);
  });
});
