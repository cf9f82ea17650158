import { secretOfKind, SecretShapeError } from './secret-shapes';

describe('secret shapes per credential kind', () => {
  it("gives each kind's secret back typed, without fields the kind does not define", () => {
    expect(secretOfKind('api_client', { clientKey: 'ck', clientSecret: 'cs', stray: 'x' })).toEqual({
      clientKey: 'ck',
      clientSecret: 'cs',
    });
    expect(secretOfKind('api_keys', { apiKey: 'k', apiPassphrase: 'p', apiSignature: 's' })).toEqual({
      apiKey: 'k',
      apiPassphrase: 'p',
      apiSignature: 's',
    });
    expect(
      secretOfKind('api_keys', { apiKey: 'k', apiPassphrase: 'p', apiSignature: 's', readOnlyKey: 'r' }).readOnlyKey,
    ).toBe('r');
    expect(secretOfKind('oauth_refresh_token', { secretToken: 't' }).secretToken).toBe('t');
  });

  it("refuses another kind's secret, naming the missing fields and never a value", () => {
    const attempt = () =>
      secretOfKind('mtls_client_certificate', { clientKey: 'ck-visible', clientSecret: 'cs-hidden-value' });
    expect(attempt).toThrow(SecretShapeError);
    expect(attempt).toThrow(
      'The secret is not a mtls_client_certificate secret: privateKeyPem missing or not a non-empty string.',
    );
    try {
      attempt();
    } catch (error) {
      expect(String((error as Error).message)).not.toContain('cs-hidden-value');
    }
    expect(() => secretOfKind('api_keys', { apiKey: 'k', apiPassphrase: '', apiSignature: 's' })).toThrow(
      'apiPassphrase',
    );
    expect(() => secretOfKind('webhook_secret', 'just-a-string')).toThrow('not an object');
  });
});
