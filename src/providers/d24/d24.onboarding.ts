import { Injectable } from '@nestjs/common';
import { CredentialVault, secretOnlyCredential } from '../../credentials/credential-vault.service';
import { Actor, Credential, maskHint } from '../../credentials/domain/credential';
import type { D24Environment } from './d24.descriptor';

/** D24's onboarding: the cashout API keys (login, passphrase, signing secret, read-only key). */
@Injectable()
export class D24Onboarding {
  constructor(private readonly vault: CredentialVault) {}

  async storeKeys(
    input: {
      environment: D24Environment;
      apiKey: string;
      apiPassphrase: string;
      apiSignature: string;
      readOnlyKey?: string;
      label?: string;
    },
    actor: Actor,
  ): Promise<Credential> {
    const hints: Record<string, string> = {
      apiKey: maskHint(input.apiKey),
      apiPassphrase: maskHint(input.apiPassphrase),
      apiSignature: maskHint(input.apiSignature),
    };
    if (input.readOnlyKey) hints.readOnlyKey = maskHint(input.readOnlyKey);
    const secret = {
      apiKey: input.apiKey,
      apiPassphrase: input.apiPassphrase,
      apiSignature: input.apiSignature,
      ...(input.readOnlyKey ? { readOnlyKey: input.readOnlyKey } : {}),
    };
    return this.vault.create(
      secretOnlyCredential({
        provider: 'd24',
        environment: input.environment,
        kind: 'api_keys',
        label: input.label ?? 'D24 cashout keys',
        hints,
      }),
      secret,
      actor,
      { activate: true },
    );
  }
}
