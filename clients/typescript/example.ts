/**
 * How a frontend or service uses the client, compiled under the strictest settings in the client's
 * own tsconfig (no casts anywhere): create a payout, branch on error codes, list field problems,
 * and follow the payout to a final state.
 */
import { createPaymentsClient, fieldProblems, FINAL_PAYOUT_STATUSES, type Payout } from './index';

export async function payOut(
  baseUrl: string,
  apiKey: string,
  idempotencyKey: string,
  report: (line: string) => void,
): Promise<Payout | string> {
  const api = createPaymentsClient({ baseUrl, apiKey });
  const created = await api.POST('/v1/payouts', {
    params: { header: { 'Idempotency-Key': idempotencyKey } },
    body: {
      provider: 'd24',
      environment: 'simulator',
      amount: '150.75',
      currency: 'BRL',
      beneficiary: {
        type: 'latam_bank_account',
        country: 'BR',
        name: 'José',
        lastName: 'Müller',
        documentId: '84932568207',
        documentType: 'CPF',
        bankCode: 341,
        bankAccount: '123456789',
      },
    },
  });
  if (created.error) {
    const { code, message } = created.error.error;
    if (code === 'VALIDATION_FAILED') {
      return fieldProblems(created.error)
        .map((problem) => `${problem.field}: ${problem.message}`)
        .join('; ');
    }
    return `${code}: ${message}`;
  }
  let payout = created.data;
  if (payout.beneficiary.type === 'latam_bank_account') report(payout.beneficiary.documentId ?? 'no document');
  while (!FINAL_PAYOUT_STATUSES.includes(payout.status)) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const fetched = await api.GET('/v1/payouts/{id}', { params: { path: { id: payout.id } } });
    if (fetched.error) return fetched.error.error.code;
    payout = fetched.data;
  }
  const accounts = await api.GET('/v1/accounts');
  for (const account of accounts.data ?? []) {
    if (account.capabilities.accounts.balance && account.balance)
      report(`${account.id}: ${account.balance.amount} ${account.balance.currency}`);
  }
  return payout;
}
