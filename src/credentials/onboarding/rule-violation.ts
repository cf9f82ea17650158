import { HttpStatus } from '@nestjs/common';
import { X509Certificate } from 'node:crypto';
import { ApiError } from '../../common/errors/api-error';
import type { ErrorCode } from '../../common/errors/error-codes';
import { certificateFacts, pemBlocks, privateKeyFromPem } from '../x509/x509';

/** One broken onboarding rule, with the field to fix: every rule is checked, all are reported at once. */
export interface RuleViolation {
  field: string;
  code: string;
  message: string;
}

/** 422 with every violated rule listed, so the operator can fix them all at once. */
export function rulesViolated(
  code: Extract<ErrorCode, 'CSR_RULES_VIOLATED' | 'CERTIFICATE_REJECTED' | 'CSR_REJECTED'>,
  message: string,
  violations: RuleViolation[],
): ApiError {
  return new ApiError(
    HttpStatus.UNPROCESSABLE_ENTITY,
    code,
    `${message} ${violations.map((v) => `${v.field}: ${v.message}`).join('; ')}.`,
    violations,
  );
}

/** The CERTIFICATE blocks of a PEM field; a violation when there is none or one is unreadable. */
export function parseCertificates(text: string, field: string, violations: RuleViolation[]): X509Certificate[] {
  const { blocks } = pemBlocks(text);
  const certificates: X509Certificate[] = [];
  for (const block of blocks.filter((b) => b.label === 'CERTIFICATE')) {
    try {
      certificates.push(new X509Certificate(block.der));
    } catch {
      violations.push({
        field,
        code: 'NOT_PEM',
        message: 'holds a CERTIFICATE block that is not a readable X.509 certificate',
      });
      return [];
    }
  }
  if (certificates.length === 0) {
    violations.push({ field, code: 'NOT_PEM', message: 'must be a PEM certificate ("-----BEGIN CERTIFICATE-----" …)' });
  }
  return certificates;
}

export function checkValidity(certificate: X509Certificate, field: string, violations: RuleViolation[]): void {
  const facts = certificateFacts(certificate);
  const now = Date.now();
  if (facts.notAfter.getTime() <= now) {
    violations.push({ field, code: 'EXPIRED', message: `expired on ${facts.notAfter.toISOString()}` });
  } else if (facts.notBefore.getTime() > now) {
    violations.push({ field, code: 'NOT_YET_VALID', message: `is not valid before ${facts.notBefore.toISOString()}` });
  }
}

/** Stored as PKCS#8 whatever the operator pasted (PKCS#1 "RSA PRIVATE KEY" included). */
export function normalizePrivateKeyPem(pem: string): string {
  const key = privateKeyFromPem(pem);
  return key ? (key.export({ type: 'pkcs8', format: 'pem' }) as string) : pem;
}
