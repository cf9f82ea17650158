import type { ParsedCsr } from '../kit/pki';
import { OID, subjectField } from '../kit/pki';

/**
 * What Verestro checks before signing a partner CSR (seed 000), written for the simulator:
 * a valid self-signature, RSA ≥ 2048, OU exactly "main", no comma in any field, a two-letter
 * country, and a CN of V-SBX-<Companyname>-<Applicationname> (sandbox) or
 * V-<Companyname>-<Applicationname> (beta and production), Companyname capitalised.
 */
export type VerestroSigningEnvironment = 'sandbox' | 'beta' | 'production';

const CN_RULES: Record<VerestroSigningEnvironment, RegExp> = {
  sandbox: /^V-SBX-[A-Z][a-z0-9]*-[A-Za-z0-9]+$/,
  beta: /^V-[A-Z][a-z0-9]*-[A-Za-z0-9]+$/,
  production: /^V-[A-Z][a-z0-9]*-[A-Za-z0-9]+$/,
};

export function csrPolicyViolations(csr: ParsedCsr, environment: VerestroSigningEnvironment): string[] {
  const violations: string[] = [];
  if (!csr.signatureValid) violations.push('the CSR signature does not verify');
  if (csr.keyBits === null || csr.keyBits < 2048)
    violations.push(`the key must be RSA of at least 2048 bits (got ${csr.keyBits ?? 'non-RSA'})`);
  const field = (oid: string) => subjectField(csr.subject, oid);
  const ou = field(OID.OU);
  if (ou.length !== 1 || ou[0] !== 'main') violations.push(`OU must be exactly "main" (got ${JSON.stringify(ou)})`);
  const country = field(OID.C);
  if (country.length !== 1 || !/^[A-Z]{2}$/.test(country[0]))
    violations.push('C must be a two-letter ISO 3166-1 alpha-2 code');
  for (const [name, oid] of [
    ['ST', OID.ST],
    ['L', OID.L],
    ['O', OID.O],
    ['emailAddress', OID.E],
  ] as const) {
    if (field(oid).length !== 1) violations.push(`${name} is required`);
  }
  const cn = field(OID.CN);
  if (cn.length !== 1 || !CN_RULES[environment].test(cn[0])) {
    violations.push(
      `CN must look like ${environment === 'sandbox' ? 'V-SBX-' : 'V-'}Companyname-Applicationname (got ${JSON.stringify(cn[0] ?? null)})`,
    );
  }
  for (const oid of Object.values(OID)) {
    if (field(oid).some((value) => value.includes(','))) violations.push('commas are not allowed in any field');
  }
  return [...new Set(violations)];
}
